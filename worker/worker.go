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
	"slices"
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
	errs       []workerstatus.HandlerError // the last handler errors, newest last
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
	// Errors are the last handler errors (at most workerstatus.MaxErrors),
	// the newest last.
	Errors []workerstatus.HandlerError `json:"errors,omitempty"`
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
		Errors:      slices.Clone(w.errs),
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
