package worker

import (
	"context"
	"time"
)

// beginStop starts the two-phase stop once: receiving ends at once (stopRecv
// is closed) and shutdown runs in the background.
func (w *Worker) beginStop() {
	w.stopOnce.Do(func() {
		w.mu.Lock()
		w.stopping = true
		w.updateLocked()
		w.mu.Unlock()
		close(w.stopRecv)
		go w.shutdown()
	})
}

// abort ends the graceful phase: receives in progress are cancelled, running
// handlers cancelled and held messages released.
func (w *Worker) abort() {
	w.abortOnce.Do(func() { close(w.abortCh) })
}

// shutdown runs once stopping has begun and closes finished at the end.
func (w *Worker) shutdown() {
	// A receive in progress is let finish: cancelling it could strand the
	// messages the queue hands it in that instant (in flight, held by no
	// one, until their visibility timeout). It ends within the long-poll
	// wait, and what it brings is handled like the rest; an abort (the
	// grace period is over, or a second signal) cancels it at once.
	pollersDone := make(chan struct{})
	go func() {
		w.pollers.Wait()
		close(pollersDone)
	}()
	select {
	case <-pollersDone:
	case <-w.abortCh:
		w.pollCancel()
		<-pollersDone
	}
	w.pollCancel()
	w.mu.Lock()
	w.pollersOut = true
	w.updateLocked()
	w.mu.Unlock()
	w.log.Info("worker draining", "in_flight", w.Status().InFlight)

	var released int
	select {
	case <-w.empty:
	case <-w.abortCh:
		released = w.releaseAll()
	}
	w.handlers.Wait()
	close(w.deletes)
	w.deleters.Wait()
	close(w.hbStop)
	<-w.hbStopped

	w.mu.Lock()
	if released > 0 {
		w.result = &StopError{Released: released}
	}
	w.state = StateStopped
	w.since = w.clk.Now()
	select {
	case w.changed <- struct{}{}:
	default:
	}
	w.mu.Unlock()
	w.log.Info("worker stopped", "released", released)
	close(w.finished)
}

// releaseAll cancels running handlers and makes every held message that is
// not already on its way to deletion visible again.
func (w *Worker) releaseAll() int {
	w.handlerCancel(ErrStopped)
	w.hbMu.Lock()
	defer w.hbMu.Unlock()
	w.mu.Lock()
	var out []VisibilityChange
	released := 0
	for h := range w.held {
		if h.done {
			continue
		}
		h.released = true
		delete(w.held, h)
		out = append(out, VisibilityChange{ReceiptHandle: h.m.ReceiptHandle})
		if h.started {
			released++
		} else {
			w.counts.Returned++
		}
	}
	w.counts.Released += uint64(released)
	w.updateLocked()
	w.mu.Unlock()

	ctx, cancel := context.WithTimeout(w.baseCtx, 10*time.Second)
	defer cancel()
	for len(out) > 0 {
		n := min(len(out), maxBatch)
		if err := w.cfg.Queue.ChangeVisibilityBatch(ctx, out[:n]); err != nil {
			w.log.Error("releasing messages", "err", err)
		}
		out = out[n:]
	}
	return released
}
