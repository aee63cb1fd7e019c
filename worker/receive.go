package worker

import "time"

// takeSlots takes the tokens for one receive: at least one, as many as are
// free up to the batch size. With prefetch it waits for minTake tokens, so
// the worker receives full batches instead of one message per finished
// handler, while the prefetched rest keeps the handlers busy.
func (w *Worker) takeSlots() int {
	n := 0
	for n < w.minTake {
		select {
		case <-w.slots:
			n++
		case <-w.stopRecv:
			w.putSlots(n)
			return 0
		}
	}
	for n < w.cfg.BatchSize {
		select {
		case <-w.slots:
			n++
		default:
			return n
		}
	}
	return n
}

func (w *Worker) putSlots(n int) {
	for range n {
		w.slots <- struct{}{}
	}
}

// waitClock waits d on the worker's clock, or until stopping begins.
func (w *Worker) waitClock(d time.Duration) bool {
	t := w.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-w.stopRecv:
		return false
	}
}

// pollLoop is one receive loop: it takes free slots, receives up to that many
// messages (long polling), holds them and starts their handlers, until
// stopping begins. A failed receive is retried after a backoff of 100 ms
// doubling to 10 s.
func (w *Worker) pollLoop() {
	defer w.pollers.Done()
	var errDelay time.Duration
	for {
		n := w.takeSlots()
		if n == 0 {
			return
		}
		// takeSlots may pick a free slot over a stop that came at the same
		// time: no receive starts once stopping has begun.
		select {
		case <-w.stopRecv:
			w.putSlots(n)
			return
		default:
		}
		if w.cfg.Gate != nil {
			if err := w.cfg.Gate(w.pollCtx); err != nil {
				w.putSlots(n)
				if w.pollCtx.Err() != nil {
					return
				}
				continue
			}
		}
		before := w.clk.Now()
		msgs, err := w.cfg.Queue.Receive(w.pollCtx, ReceiveRequest{
			Max: n, Wait: w.cfg.Wait, Visibility: w.cfg.VisibilityTimeout,
		})
		if err != nil {
			w.putSlots(n)
			if w.pollCtx.Err() != nil {
				return
			}
			w.mu.Lock()
			w.counts.ReceiveErrors++
			w.mu.Unlock()
			errDelay = min(max(2*errDelay, 100*time.Millisecond), 10*time.Second)
			w.log.Warn("receive failed", "err", err, "retry_in", errDelay)
			if !w.waitClock(errDelay) {
				return
			}
			continue
		}
		errDelay = 0
		if len(msgs) > n { // more than asked for: give the rest back
			extra := make([]VisibilityChange, 0, len(msgs)-n)
			for _, m := range msgs[n:] {
				extra = append(extra, VisibilityChange{ReceiptHandle: m.ReceiptHandle})
			}
			if err := w.cfg.Queue.ChangeVisibilityBatch(w.baseCtx, extra); err != nil {
				w.log.Warn("returning surplus messages", "err", err)
			}
			msgs = msgs[:n]
		}
		w.putSlots(n - len(msgs))
		if len(msgs) == 0 {
			continue
		}
		hs := make([]*held, len(msgs))
		deadline := before.Add(w.cfg.VisibilityTimeout)
		w.mu.Lock()
		for i, m := range msgs {
			m.ReceivedAt = before
			hs[i] = &held{m: m, deadline: deadline}
			w.held[hs[i]] = struct{}{}
		}
		w.counts.Received += uint64(len(msgs))
		w.handlers.Add(len(msgs))
		w.updateLocked()
		w.mu.Unlock()
		for _, group := range groups(hs) {
			if len(group) == 1 {
				go func() {
					defer w.handlers.Done()
					w.process(group[0])
				}()
				continue
			}
			go w.processInOrder(group)
		}
	}
}

// groups splits a received batch by FIFO message group, keeping the order
// within each group. Messages without a group (standard queues) are groups of
// their own.
func groups(hs []*held) [][]*held {
	var out [][]*held
	var byGroup map[string]int
	for _, h := range hs {
		g, ok := h.m.Attributes["MessageGroupId"]
		if !ok {
			out = append(out, []*held{h})
			continue
		}
		if byGroup == nil {
			byGroup = make(map[string]int)
		}
		if i, ok := byGroup[g]; ok {
			out[i] = append(out[i], h)
			continue
		}
		byGroup[g] = len(out)
		out = append(out, []*held{h})
	}
	return out
}
