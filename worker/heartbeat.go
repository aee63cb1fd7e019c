package worker

import "context"

// heartbeatLoop extends held messages before they become visible again.
func (w *Worker) heartbeatLoop() {
	defer close(w.hbStopped)
	for {
		t := w.clk.NewTimer(w.cfg.HeartbeatInterval)
		select {
		case <-t.C():
		case <-w.hbStop:
			t.Stop()
			return
		}
		w.heartbeat()
	}
}

func (w *Worker) heartbeat() {
	w.hbMu.Lock()
	defer w.hbMu.Unlock()
	now := w.clk.Now()
	horizon := now.Add(2 * w.cfg.HeartbeatInterval)
	var out []VisibilityChange
	w.mu.Lock()
	for h := range w.held {
		if h.deadline.Before(horizon) {
			h.deadline = now.Add(w.cfg.VisibilityTimeout)
			out = append(out, VisibilityChange{ReceiptHandle: h.m.ReceiptHandle, Timeout: w.cfg.VisibilityTimeout})
		}
	}
	w.mu.Unlock()
	if len(out) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(w.baseCtx, w.cfg.HeartbeatInterval)
	defer cancel()
	for len(out) > 0 {
		n := min(len(out), maxBatch)
		if err := w.cfg.Queue.ChangeVisibilityBatch(ctx, out[:n]); err != nil {
			// A message deleted meanwhile fails here harmlessly.
			w.log.Debug("heartbeat", "err", err)
		}
		out = out[n:]
	}
}
