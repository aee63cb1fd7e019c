package autoscale_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// source is a QueueSource whose stats the test sets.
type source struct {
	mu sync.Mutex
	s  autoscale.QueueStats
}

func (s *source) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s, ctx.Err()
}

func (s *source) set(visible int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.s.Visible = visible
}

// flaky fails SetDesired while fails > 0.
type flaky struct {
	autoscale.Fleet
	mu    sync.Mutex
	fails int
}

func (f *flaky) SetDesired(ctx context.Context, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return errors.New("orchestrator unavailable")
	}
	return f.Fleet.SetDesired(ctx, n)
}

type fixture struct {
	clk   *clock.Fake
	src   *source
	fleet *memfleet.Fleet
	logs  *bytes.Buffer
}

func setup(t *testing.T, running int, mutate func(*autoscale.Options)) (*autoscale.Controller, fixture) {
	t.Helper()
	fx := fixture{clk: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), src: &source{}, logs: &bytes.Buffer{}}
	fx.fleet = memfleet.New(fx.clk, 0)
	if err := fx.fleet.SetDesired(t.Context(), running); err != nil {
		t.Fatal(err)
	}
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100})
	if err != nil {
		t.Fatal(err)
	}
	o := autoscale.Options{
		Source: fx.src, Fleet: fx.fleet, Policies: []policy.Policy{tt},
		Bounds: policy.Bounds{Min: 0, Max: 50}, Clock: fx.clk,
		Logger: slog.New(slog.NewJSONHandler(&syncWriter{w: fx.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mutate != nil {
		mutate(&o)
	}
	c, err := autoscale.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, fx
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestTickScalesOutLikeAWSExample(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 10, nil)
	fx.src.set(1500)
	d := c.Tick(t.Context())
	if d.From != 10 || d.To != 15 || !d.Applied || d.Rule != "scale-out" {
		t.Fatalf("decision %+v", d)
	}
	if s, _ := fx.fleet.State(t.Context()); s.Desired != 15 {
		t.Fatalf("fleet desired %d, want 15", s.Desired)
	}
	var rec map[string]any
	line, _, _ := strings.Cut(fx.logs.String(), "\n")
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("log is not JSON: %v: %s", err, line)
	}
	if rec["msg"] != "autoscale scale" || rec["to"] != 15.0 || !strings.Contains(rec["reason"].(string), "ceil(10 × 150.00 / 100) = 15") {
		t.Fatalf("log record %v", rec)
	}
}

func TestWakeFromZeroAndBackToZero(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 0, func(o *autoscale.Options) {
		tt, _ := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100, ScaleInCooldown: new(0)})
		o.Policies = []policy.Policy{tt}
	})
	ctx := t.Context()
	if d := c.Tick(ctx); d.To != 0 || d.Rule != "hold" {
		t.Fatalf("empty queue at zero: %+v", d)
	}
	fx.src.set(1)
	if d := c.Tick(ctx); d.To != 1 || d.Rule != "wake" {
		t.Fatalf("one message at zero: %+v", d)
	}
	fx.src.set(0)
	fx.clk.Advance(time.Second)
	if d := c.Tick(ctx); d.To != 0 || d.Rule != "scale-in" {
		t.Fatalf("drained: %+v", d)
	}
}

func TestSetDesiredErrorsBackOffAndAreLogged(t *testing.T) {
	t.Parallel()
	var f *flaky
	c, fx := setup(t, 10, func(o *autoscale.Options) {
		f = &flaky{Fleet: o.Fleet, fails: 2}
		o.Fleet = f
	})
	ctx := t.Context()
	fx.src.set(1500)
	steps := []struct {
		advance time.Duration
		rule    string
		attempt int
		applied bool
	}{
		{0, "scale-out", 1, false},                      // fails; retry in 1s
		{500 * time.Millisecond, "backoff", 1, false},   // waits
		{500 * time.Millisecond, "scale-out", 2, false}, // fails again; retry in 2s
		{time.Second, "backoff", 2, false},
		{time.Second, "scale-out", 0, true},
	}
	for i, s := range steps {
		fx.clk.Advance(s.advance)
		d := c.Tick(ctx)
		if d.Rule != s.rule || d.Attempt != s.attempt || d.Applied != s.applied {
			t.Fatalf("step %d: %+v", i, d)
		}
		if s.attempt > 0 && d.Error != "orchestrator unavailable" {
			t.Fatalf("step %d: error %q not in the decision", i, d.Error)
		}
	}
	if !strings.Contains(fx.logs.String(), `"error":"orchestrator unavailable"`) {
		t.Fatal("the failure is not in the log")
	}
}

func TestRereadsTheFleetEveryTick(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 10, nil)
	fx.src.set(1000)
	if d := c.Tick(t.Context()); d.From != 10 || d.To != 10 {
		t.Fatalf("%+v", d)
	}
	if err := fx.fleet.SetDesired(t.Context(), 7); err != nil { // someone else
		t.Fatal(err)
	}
	if d := c.Tick(t.Context()); d.From != 7 || d.To != 10 {
		t.Fatalf("after an outside change to 7: %+v", d)
	}
}

func TestDecisionsRingIsBounded(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, 1, func(o *autoscale.Options) { o.History = 3 })
	for range 5 {
		c.Tick(t.Context())
	}
	ds := c.Decisions(10)
	if len(ds) != 3 || ds[0].Seq != 3 || ds[2].Seq != 5 {
		t.Fatalf("decisions %d, seqs %d..%d", len(ds), ds[0].Seq, ds[len(ds)-1].Seq)
	}
	if got := c.Decisions(1); len(got) != 1 || got[0].Seq != 5 {
		t.Fatalf("Decisions(1) = %+v", got)
	}
}

func TestStartTicksEveryIntervalAndStops(t *testing.T) {
	t.Parallel()
	ticks := make(chan autoscale.Decision, 10)
	c, fx := setup(t, 1, func(o *autoscale.Options) {
		o.Interval = 5 * time.Second
		o.OnDecision = func(d autoscale.Decision) { ticks <- d }
	})
	created := fx.clk.TimerCreated()
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); !errors.Is(err, autoscale.ErrStarted) {
		t.Fatalf("second Start = %v", err)
	}
	<-ticks // the first tick runs at once
	<-created
	created = fx.clk.TimerCreated()
	fx.clk.Advance(4 * time.Second)
	select {
	case d := <-ticks:
		t.Fatalf("ticked before the interval: %+v", d)
	default:
	}
	fx.clk.Advance(time.Second)
	if d := <-ticks; d.Seq != 2 {
		t.Fatalf("second tick seq %d", d.Seq)
	}
	<-created
	c.Stop(context.Background())
	c.Stop(context.Background())
	fx.clk.Advance(time.Minute)
	select {
	case d := <-ticks:
		t.Fatalf("ticked after Stop: %+v", d)
	default:
	}
}

func TestDryRunNeverApplies(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 10, func(o *autoscale.Options) { o.DryRun = true })
	fx.src.set(1500)
	if d := c.Tick(t.Context()); d.Applied || d.To != 15 || !strings.HasPrefix(d.Reason, "dry run") {
		t.Fatalf("%+v", d)
	}
	if s, _ := fx.fleet.State(t.Context()); s.Desired != 10 {
		t.Fatalf("dry run changed the fleet to %d", s.Desired)
	}
}

// failingSource cannot read the queue.
type failingSource struct{}

func (failingSource) Observe(context.Context) (autoscale.QueueStats, error) {
	return autoscale.QueueStats{}, errors.New("queue endpoint unreachable")
}

func TestObserveErrorChangesNothing(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 4, func(o *autoscale.Options) { o.Source = failingSource{} })
	d := c.Tick(t.Context())
	if d.Rule != "observe-error" || d.Error != "queue endpoint unreachable" || d.Applied {
		t.Fatalf("%+v", d)
	}
	if s, _ := fx.fleet.State(t.Context()); s.Desired != 4 {
		t.Fatalf("fleet changed to %d", s.Desired)
	}
	if !strings.Contains(fx.logs.String(), `"rule":"observe-error"`) {
		t.Fatalf("not logged: %s", fx.logs.String())
	}
}
