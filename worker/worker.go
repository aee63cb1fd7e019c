// Package worker is qscale's worker runtime: it receives messages from a
// queue, runs a handler for each, deletes what succeeded, retries what failed
// after a backoff, keeps long-running messages invisible with heartbeats, and
// shuts down in two phases (finish in-flight work, then release what is still
// held so another worker takes it at once).
//
// The runtime talks to the queue through the narrow Queue interface;
// worker/sqsclient implements it for any SQS endpoint.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker/workerstatus"
)

// Sentinel errors.
var (
	// ErrTimeout is the cause of a handler context cancelled by the
	// per-message timeout, and wraps the error of such a call.
	ErrTimeout = errors.New("worker: handler timed out")
	// ErrStopped is the cause of a handler context cancelled because the
	// worker stopped without waiting.
	ErrStopped = errors.New("worker: stopped")
	// ErrReleased is wrapped by the error of a stop that released held
	// messages back to the queue.
	ErrReleased = errors.New("worker: messages released")
)

// StopError is returned by Stop when messages were released rather than
// finished.
type StopError struct {
	Released int
}

func (e *StopError) Error() string {
	return fmt.Sprintf("worker: stopped with %d message(s) released to the queue", e.Released)
}

func (e *StopError) Unwrap() error { return ErrReleased }

// Worker runs a Handler over the messages of a Queue. Create it with New,
// run it with Start, end it with Stop (or Drain and Done).
type Worker struct {
	cfg Config
	clk clock.Clock
	log *slog.Logger

	slots   chan struct{} // a token per message that may be held (Concurrency+Prefetch)
	minTake int           // fewest tokens a receive waits for
	run     chan struct{} // a token per free handler slot (Concurrency)

	// hbMu orders visibility changes: a heartbeat holds it exclusively from
	// choosing messages until its calls return; a failure's backoff and a
	// release hold it shared. So a heartbeat never re-hides a message that
	// was just released or set to retry. Lock order: hbMu before mu.
	hbMu sync.RWMutex

	mu         sync.Mutex // guards the fields below
	held       map[*held]struct{}
	state      State
	since      time.Time
	started    bool
	stopping   bool
	pollersOut bool // every poller has returned
	emptyShut  bool // empty was closed
	running    int  // handlers running now
	counts     Counts
	result     error

	changed chan struct{} // cap 1: poked when state or in-flight changes

	stopRecv  chan struct{} // closed when stopping begins
	stopOnce  sync.Once
	empty     chan struct{} // closed when stopping and nothing is held
	abortCh   chan struct{} // closed when held messages must be released now
	abortOnce sync.Once
	finished  chan struct{} // closed when the worker has stopped

	baseCtx       context.Context // for queue calls that must outlive a stop
	pollCtx       context.Context
	pollCancel    context.CancelFunc
	handlerCtx    context.Context
	handlerCancel context.CancelCauseFunc

	pollers   sync.WaitGroup
	handlers  sync.WaitGroup
	deleters  sync.WaitGroup
	deletes   chan *held
	hbStop    chan struct{}
	hbStopped chan struct{}
}

// held is a message this worker holds: received and neither deleted,
// released nor set to retry. Its fields are guarded by Worker.mu.
type held struct {
	m        *Message
	deadline time.Time // when it becomes visible again unless extended
	started  bool      // its handler has started
	done     bool      // handler succeeded; delete queued
	released bool      // given back to the queue
}

// State is what a worker is doing, as reported to fleets: the status
// protocol's states (package workerstatus).
type State = workerstatus.State

// States.
const (
	StateIdle     = workerstatus.Idle     // holds no message; receiving
	StateBusy     = workerstatus.Busy     // holds at least one message
	StateDraining = workerstatus.Draining // stopping: receives no more, finishing what it holds
	StateStopped  = workerstatus.Stopped  // done; the process is about to exit
)

// Counts are cumulative message counts, as the status document reports
// them (package workerstatus).
type Counts = workerstatus.Counts

// Status is a snapshot of the worker, served by the status endpoint and
// written to the status file.
type Status struct {
	State State `json:"state"`
	// Since is when State last changed.
	Since time.Time `json:"since"`
	// InFlight is how many messages the worker holds (received, not yet
	// deleted, released or set to retry).
	InFlight int `json:"in_flight"`
	// Running is how many handlers run now (at most Concurrency).
	Running     int    `json:"running"`
	Concurrency int    `json:"concurrency"`
	Counts      Counts `json:"counts"`
}

// New checks cfg and returns a Worker that has not started.
func New(cfg Config) (*Worker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := &Worker{
		cfg:       cfg,
		clk:       cfg.Clock,
		log:       cfg.Logger,
		slots:     make(chan struct{}, cfg.Concurrency+cfg.Prefetch),
		run:       make(chan struct{}, cfg.Concurrency),
		held:      make(map[*held]struct{}),
		state:     StateIdle,
		since:     cfg.Clock.Now(),
		changed:   make(chan struct{}, 1),
		stopRecv:  make(chan struct{}),
		empty:     make(chan struct{}),
		abortCh:   make(chan struct{}),
		finished:  make(chan struct{}),
		deletes:   make(chan *held, cfg.Concurrency),
		hbStop:    make(chan struct{}),
		hbStopped: make(chan struct{}),
	}
	for range cfg.Concurrency + cfg.Prefetch {
		w.slots <- struct{}{}
	}
	w.minTake = 1
	if cfg.Prefetch > 0 {
		// No more than every poller can hold at once, so pollers that
		// share the tokens never wait on each other.
		w.minTake = max(1, min(cfg.Prefetch, cfg.BatchSize, (cfg.Concurrency+cfg.Prefetch)/cfg.Pollers))
	}
	for range cfg.Concurrency {
		w.run <- struct{}{}
	}
	return w, nil
}

// Start begins receiving and returns at once. Cancelling ctx stops the
// worker without waiting: running handlers are cancelled and held messages
// released. Use Stop for a graceful stop.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("worker: already started")
	}
	w.started = true
	w.mu.Unlock()

	w.baseCtx = context.WithoutCancel(ctx)
	w.pollCtx, w.pollCancel = context.WithCancel(w.baseCtx)
	w.handlerCtx, w.handlerCancel = context.WithCancelCause(w.baseCtx)

	deleters := w.cfg.Pollers
	w.deleters.Add(deleters)
	for range deleters {
		go w.deleteLoop()
	}
	go w.heartbeatLoop()
	w.pollers.Add(w.cfg.Pollers)
	for range w.cfg.Pollers {
		go w.pollLoop()
	}
	context.AfterFunc(ctx, func() {
		w.beginStop()
		w.abort()
	})
	w.log.Info("worker started", "concurrency", w.cfg.Concurrency, "pollers", w.cfg.Pollers,
		"batch", w.cfg.BatchSize, "wait", w.cfg.Wait, "visibility", w.cfg.VisibilityTimeout)
	return nil
}

// Stop stops receiving at once and waits for held messages to finish. If ctx
// ends first, it cancels the running handlers and releases the messages they
// hold (visibility 0), so another worker takes them at once; the error is
// then a *StopError (errors.Is(err, ErrReleased)). Stop is idempotent and safe
// to call concurrently: a second call with a cancelled context turns a
// graceful stop into an immediate one.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started {
		return nil
	}
	w.beginStop()
	select {
	case <-w.finished:
	case <-ctx.Done():
		w.abort()
		<-w.finished
	}
	return w.Err()
}

// Drain stops receiving; the worker finishes what it holds, however long
// that takes, then Done is closed. It returns at once.
func (w *Worker) Drain() { w.beginStop() }

// Done is closed when the worker has stopped.
func (w *Worker) Done() <-chan struct{} { return w.finished }

// Err is the outcome of a stop once Done is closed: nil, or a *StopError.
func (w *Worker) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.result
}

// Changed returns a channel that receives a value when the worker's state
// or in-flight count has changed since the last receive (one consumer).
func (w *Worker) Changed() <-chan struct{} { return w.changed }

// Status returns a snapshot.
func (w *Worker) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Status{
		State:       w.state,
		Since:       w.since,
		InFlight:    len(w.held),
		Running:     w.running,
		Concurrency: w.cfg.Concurrency,
		Counts:      w.counts,
	}
}

// updateLocked recomputes the state after a change and pokes Changed.
func (w *Worker) updateLocked() {
	s := StateIdle
	switch {
	case w.stopping:
		s = StateDraining
	case len(w.held) > 0:
		s = StateBusy
	}
	if s != w.state {
		w.state = s
		w.since = w.clk.Now()
	}
	if w.stopping && w.pollersOut && len(w.held) == 0 && !w.emptyShut {
		w.emptyShut = true
		close(w.empty)
	}
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

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
	if err == nil {
		w.counts.Succeeded++
	} else {
		w.counts.Failed++
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

// deleteLoop deletes succeeded messages in batches of whatever is waiting,
// up to 10, so a busy worker deletes ten at a time and an idle one at once.
func (w *Worker) deleteLoop() {
	defer w.deleters.Done()
	batch := make([]*held, 0, maxBatch)
	handles := make([]string, 0, maxBatch)
	for h := range w.deletes {
		batch = append(batch[:0], h)
	fill:
		for len(batch) < maxBatch {
			select {
			case h, ok := <-w.deletes:
				if !ok {
					break fill
				}
				batch = append(batch, h)
			default:
				break fill
			}
		}
		if len(batch) < maxBatch && w.cfg.DeleteDelay > 0 {
			// Wait a little for the batch to fill.
			t := w.clk.NewTimer(w.cfg.DeleteDelay)
		linger:
			for len(batch) < maxBatch {
				select {
				case h, ok := <-w.deletes:
					if !ok {
						break linger
					}
					batch = append(batch, h)
				case <-t.C():
					break linger
				}
			}
			t.Stop()
		}
		handles = handles[:0]
		for _, h := range batch {
			handles = append(handles, h.m.ReceiptHandle)
		}
		ctx, cancel := context.WithTimeout(w.baseCtx, 30*time.Second)
		err := w.cfg.Queue.DeleteBatch(ctx, handles)
		cancel()
		failed := 0
		if err != nil {
			var be *BatchError
			if errors.As(err, &be) {
				failed = len(be.Failed)
			} else {
				failed = len(batch)
			}
			w.log.Error("deleting messages", "err", err, "failed", failed)
		}
		w.mu.Lock()
		w.counts.DeleteErrors += uint64(failed)
		for _, h := range batch {
			delete(w.held, h)
		}
		w.updateLocked()
		w.mu.Unlock()
	}
}

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
