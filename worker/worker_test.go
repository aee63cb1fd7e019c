package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker"
)

type setup struct {
	clk *clock.Fake
	q   *memQueue
	w   *worker.Worker
}

func newSetup(t *testing.T, cfg worker.Config) *setup {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := newMemQueue(clk)
	cfg.Queue, cfg.Clock = q, clk
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = w.Stop(ctx)
	})
	return &setup{clk: clk, q: q, w: w}
}

// stop stops the worker gracefully: Stop lets the receive in progress
// finish, which endPolls ends at once.
func (s *setup) stop(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.w.Stop(ctx) }()
	s.q.endPolls()
	return <-done
}

func TestDeletesInBatchesOnSuccess(t *testing.T) {
	t.Parallel()
	const n = 45
	var done atomic.Int32
	all := make(chan struct{})
	s := newSetup(t, worker.Config{Concurrency: 20, Handler: func(ctx context.Context, m *worker.Message) error {
		if done.Add(1) == n {
			close(all)
		}
		return nil
	}})
	for range n {
		s.q.send("x")
	}
	if err := s.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-all
	if err := s.stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := s.q.remaining(); r != 0 {
		t.Fatalf("%d messages left", r)
	}
	calls := s.q.deleteCalls()
	for _, c := range calls {
		if len(c) > 10 {
			t.Fatalf("delete batch of %d", len(c))
		}
	}
	if len(calls) >= n {
		t.Fatalf("%d delete calls for %d messages: not batched", len(calls), n)
	}
	st := s.w.Status()
	if st.State != worker.StateStopped || st.Counts.Succeeded != n || st.InFlight != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestFailureRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	third := make(chan struct{})
	s := newSetup(t, worker.Config{
		Backoff: worker.ExponentialBackoff(time.Second, time.Minute),
		Handler: func(ctx context.Context, m *worker.Message) error {
			if calls.Add(1) < 3 {
				return errors.New("boom")
			}
			close(third)
			return nil
		},
	})
	s.q.send("x")
	if err := s.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// First failure: visible again after 1 s; second after 2 s.
	for _, want := range []time.Duration{time.Second, 2 * time.Second} {
		c := <-s.q.changed
		if c.Timeout != want {
			t.Fatalf("retry visibility %v, want %v", c.Timeout, want)
		}
		s.clk.Advance(want)
		s.q.send() // wake the long poll: the message is visible now
	}
	// The third delivery runs; Stop then waits for it and its delete.
	<-third
	if err := s.stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || s.q.remaining() != 0 {
		t.Fatalf("calls %d, remaining %d", calls.Load(), s.q.remaining())
	}
	if f := s.w.Status().Counts.Failed; f != 2 {
		t.Fatalf("failed = %d", f)
	}
}

func TestHeartbeatExtendsLongMessage(t *testing.T) {
	t.Parallel()
	started, finish := make(chan struct{}), make(chan struct{})
	s := newSetup(t, worker.Config{
		VisibilityTimeout: 30 * time.Second, HeartbeatInterval: 10 * time.Second,
		Handler: func(ctx context.Context, m *worker.Message) error {
			close(started)
			<-finish
			return nil
		},
	})
	s.q.send("long")
	created := s.clk.TimerCreated()
	if err := s.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-started
	<-created // the heartbeat's timer
	// At 10 s the message is 20 s from visible: not yet. At 20 s it is 10 s
	// away, within two intervals: extended to 50 s.
	created = s.clk.TimerCreated()
	s.clk.Advance(10 * time.Second)
	<-created
	select {
	case c := <-s.q.changed:
		t.Fatalf("extended too early: %+v", c)
	default:
	}
	created = s.clk.TimerCreated()
	s.clk.Advance(10 * time.Second)
	c := <-s.q.changed
	if c.Timeout != 30*time.Second {
		t.Fatalf("extended by %v", c.Timeout)
	}
	<-created
	// Long after the first visibility timeout it is still held.
	for range 6 {
		created = s.clk.TimerCreated()
		s.clk.Advance(10 * time.Second)
		<-created
	}
	if st := s.w.Status(); st.State != worker.StateBusy || st.InFlight != 1 {
		t.Fatalf("status %+v", st)
	}
	if v := s.q.visible(); v != 0 {
		t.Fatalf("%d message(s) visible while held", v)
	}
	close(finish)
	if err := s.stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.q.remaining() != 0 {
		t.Fatal("not deleted")
	}
}

func TestStopReleasesWhenGraceEnds(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var cause atomic.Value
	s := newSetup(t, worker.Config{Handler: func(ctx context.Context, m *worker.Message) error {
		close(started)
		<-ctx.Done()
		cause.Store(context.Cause(ctx))
		return ctx.Err()
	}})
	s.q.send("stuck")
	if err := s.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-started
	grace, cancel := context.WithCancel(t.Context())
	cancel() // the grace period is over
	err := s.stop(grace)
	var se *worker.StopError
	if !errors.As(err, &se) || se.Released != 1 || !errors.Is(err, worker.ErrReleased) {
		t.Fatalf("Stop = %v", err)
	}
	if c := <-s.q.changed; c.Timeout != 0 {
		t.Fatalf("released with visibility %v", c.Timeout)
	}
	if got := cause.Load(); got != worker.ErrStopped {
		t.Fatalf("handler cause %v", got)
	}
	if s.q.remaining() != 1 {
		t.Fatal("released message was deleted")
	}
}

func TestDrainFinishesHeldWork(t *testing.T) {
	t.Parallel()
	started, finish := make(chan struct{}), make(chan struct{})
	s := newSetup(t, worker.Config{Handler: func(ctx context.Context, m *worker.Message) error {
		close(started)
		<-finish
		return nil
	}})
	s.q.send("a")
	if err := s.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-started
	s.w.Drain()
	s.q.endPolls()
	if st := s.w.Status(); st.State != worker.StateDraining || st.InFlight != 1 {
		t.Fatalf("status %+v", st)
	}
	s.q.send("b") // not taken: the worker no longer receives
	close(finish)
	<-s.w.Done()
	if err := s.w.Err(); err != nil {
		t.Fatal(err)
	}
	if s.q.remaining() != 1 || s.w.Status().Counts.Received != 1 {
		t.Fatalf("remaining %d, status %+v", s.q.remaining(), s.w.Status())
	}
}

func TestTimeoutCancelsHandler(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	second := make(chan struct{})
	s := newSetup(t, worker.Config{
		Timeout: 5 * time.Second,
		Backoff: worker.ExponentialBackoff(0, 0),
		Handler: func(ctx context.Context, m *worker.Message) error {
			if calls.Add(1) == 1 {
				<-ctx.Done()
				return ctx.Err()
			}
			close(second)
			return nil
		},
	})
	s.q.send("hang")
	if err := s.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	for { // wait for the heartbeat's timer and the handler's timeout timer
		created := s.clk.TimerCreated()
		if s.clk.Pending() >= 2 {
			break
		}
		<-created
	}
	s.clk.Advance(5 * time.Second)
	if c := <-s.q.changed; c.Timeout != 0 {
		t.Fatalf("retry visibility %v", c.Timeout)
	}
	<-second // retried at once; Stop then waits for its delete
	if err := s.stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || s.q.remaining() != 0 {
		t.Fatalf("calls %d remaining %d", calls.Load(), s.q.remaining())
	}
}

func TestPanicIsAFailure(t *testing.T) {
	t.Parallel()
	s := newSetup(t, worker.Config{Handler: func(ctx context.Context, m *worker.Message) error { panic("bad message") }})
	s.q.send("x")
	if err := s.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := <-s.q.changed; c.Timeout != time.Second {
		t.Fatalf("retry visibility %v", c.Timeout)
	}
	if s.w.Status().Counts.Failed != 1 {
		t.Fatal("panic not counted as a failure")
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	q := newMemQueue(clock.Real{})
	h := func(context.Context, *worker.Message) error { return nil }
	for _, cfg := range []worker.Config{
		{Handler: h},
		{Queue: q},
		{Queue: q, Handler: h, BatchSize: 11},
		{Queue: q, Handler: h, Wait: 21 * time.Second},
		{Queue: q, Handler: h, Concurrency: -1},
		{Queue: q, Handler: h, VisibilityTimeout: 10 * time.Second, HeartbeatInterval: 10 * time.Second},
	} {
		if _, err := worker.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestPrefetchedMessagesGoBackAtStop(t *testing.T) {
	t.Parallel()
	started, finish := make(chan struct{}, 3), make(chan struct{})
	s := newSetup(t, worker.Config{Concurrency: 1, Prefetch: 2, Handler: func(ctx context.Context, m *worker.Message) error {
		started <- struct{}{}
		<-finish
		return nil
	}})
	s.q.send("a", "b", "c")
	if err := s.w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-started
	for s.w.Status().InFlight != 3 {
		<-s.w.Changed()
	}
	if st := s.w.Status(); st.Running != 1 {
		t.Fatalf("status %+v", st)
	}
	s.w.Drain()
	s.q.endPolls()
	for s.q.visible() != 2 { // the two prefetched ones, at once
		<-s.q.changed
	}
	close(finish)
	<-s.w.Done()
	st := s.w.Status()
	if err := s.w.Err(); err != nil || st.Counts.Returned != 2 || st.Counts.Released != 0 || st.Counts.Succeeded != 1 {
		t.Fatalf("err %v, counts %+v", err, st.Counts)
	}
	if s.q.remaining() != 2 {
		t.Fatalf("remaining %d", s.q.remaining())
	}
}

// A drain lets the long poll in progress finish and starts no other, even
// though a receive slot is free when the stop comes.
func TestDrainStartsNoReceiveAfterThePollInProgress(t *testing.T) {
	t.Parallel()
	for range 20 { // a free slot and the stop race; each round would catch a wrong pick half the time
		s := newSetup(t, worker.Config{Handler: func(context.Context, *worker.Message) error { return nil }})
		if err := s.w.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		<-s.q.waiting // the first long poll waits on an empty queue
		s.w.Drain()
		s.q.endPolls()
		<-s.w.Done()
		if n := s.q.receiveCalls(); n != 1 {
			t.Fatalf("%d receives; want only the one in progress when the drain came", n)
		}
	}
}
