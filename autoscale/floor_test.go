package autoscale_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
)

// busy makes the first n workers of the fleet busy for d.
func busy(fx fixture, n int, d time.Duration) {
	until := fx.clk.Now().Add(d)
	fx.fleet.Range(func(w *memfleet.Worker) bool {
		if n == 0 {
			return false
		}
		w.BusyUntil = until
		n--
		return true
	})
}

// Five workers busy on long messages and the backlog gone: the fleet stays
// at five, explained, until they finish; then it scales in.
func TestBusyFloorKeepsBusyWorkers(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 8, func(o *autoscale.Options) {
		o.Bounds.Min = 1
		tt, _ := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100, ScaleInCooldown: new(0)})
		o.Policies = []policy.Policy{tt}
	})
	fx.fleet.ReportWorkers(true)
	busy(fx, 5, time.Minute)
	fx.src.set(0)

	d := c.Tick(t.Context())
	if d.To != 5 || d.Rule != autoscale.RuleBusyFloor || !d.Applied || !strings.HasPrefix(d.Reason, "kept 5: 5 workers hold messages") {
		t.Fatalf("first scale-in: %+v", d)
	}
	if d.Observation.Fleet.Busy != 5 {
		t.Fatalf("observed busy %d, want 5", d.Observation.Fleet.Busy)
	}
	for range 10 {
		fx.clk.Advance(5 * time.Second)
		d = c.Tick(t.Context())
		if s, _ := fx.fleet.State(t.Context()); s.Desired < 5 {
			t.Fatalf("the fleet went to %d while 5 workers are busy: %+v", s.Desired, d)
		}
	}
	if d.Rule != autoscale.RuleBusyFloor || d.To != 5 {
		t.Fatalf("hold while busy: %+v", d)
	}
	fx.clk.Advance(time.Minute) // the messages are done
	d = c.Tick(t.Context())
	if d.To != 1 || d.Rule == autoscale.RuleBusyFloor {
		t.Fatalf("after the messages finished: %+v", d)
	}
}

// AllowBelowBusy turns the floor off.
func TestBusyFloorOff(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 8, func(o *autoscale.Options) { o.Bounds.Min = 1; o.AllowBelowBusy = true })
	fx.fleet.ReportWorkers(true)
	busy(fx, 5, time.Minute)
	if d := c.Tick(t.Context()); d.To != 1 || d.Rule == autoscale.RuleBusyFloor {
		t.Fatalf("floor off: %+v", d)
	}
}

// The controller learns the processing time and the completion and arrival
// rates from the workers' counters when the source reports none.
func TestLearnsFromWorkerCounters(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 4, func(o *autoscale.Options) { o.Bounds.Min = 4 })
	fx.fleet.ReportWorkers(true)
	d := c.Tick(t.Context())
	if q := d.Observation.Queue; q.ProcessingTime != 0 || q.CompletionRate != 0 {
		t.Fatalf("learned from nothing: %+v", q)
	}
	// Each second every worker finishes 5 messages of 200 ms, and the
	// queue gains 10 messages: 20 + 10 arrive per second.
	visible := 0
	for range 12 {
		fx.clk.Advance(time.Second)
		fx.fleet.Range(func(w *memfleet.Worker) bool {
			w.Completed += 5
			w.HandlerTime += 5 * 200 * time.Millisecond
			return true
		})
		visible += 10
		fx.src.set(visible)
		d = c.Tick(t.Context())
	}
	q := d.Observation.Queue
	if q.ProcessingTime != 200*time.Millisecond {
		t.Errorf("processing time %v, want 200ms", q.ProcessingTime)
	}
	if q.CompletionRate != 20 {
		t.Errorf("completion rate %v, want 20/s", q.CompletionRate)
	}
	if q.ArrivalRate != 30 {
		t.Errorf("arrival rate %v, want 30/s", q.ArrivalRate)
	}
}

// A worker replaced under the same name, whose counters start again, is a
// new baseline, not a negative rate.
func TestLearnerCounterReset(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 1, func(o *autoscale.Options) { o.Bounds.Min = 1 })
	fx.fleet.ReportWorkers(true)
	set := func(n uint64) {
		fx.fleet.Range(func(w *memfleet.Worker) bool {
			w.Completed, w.HandlerTime = n, time.Duration(n)*time.Second
			return true
		})
	}
	set(100)
	c.Tick(t.Context())
	fx.clk.Advance(time.Second)
	set(0)
	d := c.Tick(t.Context())
	if q := d.Observation.Queue; q.CompletionRate != 0 || q.ProcessingTime != 0 {
		t.Fatalf("after a reset: %+v", q)
	}
	fx.clk.Advance(time.Second)
	set(2)
	d = c.Tick(t.Context())
	if q := d.Observation.Queue; q.ProcessingTime != time.Second {
		t.Fatalf("after the reset: %+v", q)
	}
}
