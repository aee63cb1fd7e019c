package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/qscale/qscale/worker/workerstatus"
)

// process runs the handler on one held message and reports whether it
// succeeded.
func (w *Worker) process(h *held) bool {
	// Wait for a handler slot; a prefetched message that has not started
	// when the worker stops goes back to the queue at once.
	select {
	case <-w.run:
	default:
		select {
		case <-w.run:
		case <-w.stopRecv:
			w.giveBack(h)
			w.slots <- struct{}{}
			return false
		}
	}
	w.mu.Lock()
	if h.released {
		w.mu.Unlock()
		w.run <- struct{}{}
		w.slots <- struct{}{}
		return false
	}
	h.started = true
	w.running++
	w.mu.Unlock()
	defer func() { w.run <- struct{}{} }()
	if w.cfg.Observer != nil {
		w.cfg.Observer.Started(h.m)
	}

	ctx := w.handlerCtx
	var stopTimer func() bool
	if w.cfg.Timeout > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		t := w.clk.NewTimer(w.cfg.Timeout)
		stopTimer = t.Stop
		go func() {
			select {
			case <-t.C():
				cancel(ErrTimeout)
			case <-ctx.Done():
			}
		}()
	}
	start := w.clk.Now()
	err := w.call(ctx, h.m)
	took := w.clk.Now().Sub(start)
	if stopTimer != nil {
		stopTimer()
	}
	if err != nil && errors.Is(context.Cause(ctx), ErrTimeout) && !errors.Is(err, ErrTimeout) {
		err = fmt.Errorf("%w after %v: %w", ErrTimeout, w.cfg.Timeout, err)
	}
	if w.cfg.Observer != nil {
		w.cfg.Observer.Finished(h.m, took, err)
	}

	w.mu.Lock()
	w.running--
	w.counts.HandlerSeconds += took.Seconds()
	if err == nil {
		w.counts.Succeeded++
	} else {
		w.counts.Failed++
		w.errs = workerstatus.KeepErrors(w.errs, handlerError(w.clk.Now(), h.m, err))
	}
	if h.released {
		w.updateLocked()
		w.mu.Unlock()
		w.slots <- struct{}{}
		return false
	}
	if err == nil {
		h.done = true
		w.mu.Unlock()
		w.slots <- struct{}{} // the delete is asynchronous
		w.deletes <- h
		return true
	}
	w.mu.Unlock()
	// The slot comes back only after the backoff is set, so the next
	// receive sees the message's new visibility.
	w.retry(h, err)
	w.slots <- struct{}{}
	return false
}

// handlerError describes a failed handler call for the status document.
func handlerError(now time.Time, m *Message, err error) workerstatus.HandlerError {
	e := workerstatus.HandlerError{Time: now, MessageID: m.ID, ReceiveCount: m.ReceiveCount, Error: err.Error()}
	var xe *ExitError
	if errors.As(err, &xe) {
		code := xe.Code
		e.ExitCode, e.Signal, e.Stderr = &code, xe.Signal, xe.Stderr
	}
	return e
}

// processInOrder handles the messages of one FIFO group one after another.
// After a failure the rest go back to the queue unstarted: the group stays
// locked by the failed message, so they come again after it, in order.
func (w *Worker) processInOrder(group []*held) {
	failed := false
	for _, h := range group {
		if failed {
			w.giveBack(h)
			w.slots <- struct{}{}
		} else {
			failed = !w.process(h)
		}
		w.handlers.Done()
	}
}

// giveBack makes an unstarted message visible again.
func (w *Worker) giveBack(h *held) {
	w.hbMu.RLock()
	defer w.hbMu.RUnlock()
	w.mu.Lock()
	if h.released {
		w.mu.Unlock()
		return
	}
	h.released = true
	delete(w.held, h)
	w.counts.Returned++
	w.updateLocked()
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(w.baseCtx, 10*time.Second)
	defer cancel()
	if err := w.cfg.Queue.ChangeVisibilityBatch(ctx, []VisibilityChange{{ReceiptHandle: h.m.ReceiptHandle}}); err != nil {
		w.log.Warn("returning a prefetched message", "message_id", h.m.ID, "err", err)
	}
}

// call runs the handler, turning a panic into an error.
func (w *Worker) call(ctx context.Context, m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("handler panicked", "message_id", m.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("worker: handler panicked: %v", r)
		}
	}()
	return w.cfg.Handler(ctx, m)
}

// retry sets a failed message's visibility to the backoff for its receive
// count, so it comes back then (or moves to the dead-letter queue once the
// queue's maxReceiveCount is reached).
func (w *Worker) retry(h *held, cause error) {
	w.hbMu.RLock()
	defer w.hbMu.RUnlock()
	w.mu.Lock()
	if h.released {
		w.mu.Unlock()
		return
	}
	delete(w.held, h)
	w.updateLocked()
	w.mu.Unlock()
	delay := w.cfg.Backoff(h.m.ReceiveCount)
	w.log.Warn("handler failed", "message_id", h.m.ID, "receive_count", h.m.ReceiveCount, "err", cause, "retry_in", delay)
	ctx, cancel := context.WithTimeout(w.baseCtx, 30*time.Second)
	defer cancel()
	err := w.cfg.Queue.ChangeVisibilityBatch(ctx, []VisibilityChange{{ReceiptHandle: h.m.ReceiptHandle, Timeout: delay}})
	if err != nil {
		w.log.Warn("setting retry backoff", "message_id", h.m.ID, "err", err)
	}
}
