package localfleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/localfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testwait"
)

// Five real workers busy on long messages and the backlog gone: the
// controller keeps the fleet at five, saying why, until they finish; then
// it scales in. No message is delivered twice.
func TestBusyFloorWithRealWorkers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	opts := e.options()
	// One message per receive, so that five messages make five busy
	// workers.
	opts.Command = append([]string{opts.Command[0], opts.Command[1], "--batch", "1"}, opts.Command[2:]...)
	f := e.start(opts)
	ctx := t.Context()
	if err := f.SetDesired(ctx, 8); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	busy := e.markBusy(f, 5)
	t.Cleanup(e.release) // before the fleet's Stop

	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 10, ScaleInCooldown: new(0)})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := autoscale.New(autoscale.Options{
		Source: sqssource.New(e.api, e.queue), Fleet: f, Policies: []policy.Policy{tt},
		Bounds: policy.Bounds{Min: 0, Max: 10}, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	d := ctrl.Tick(ctx)
	if d.To != 5 || d.Rule != autoscale.RuleBusyFloor || !d.Applied || !strings.HasPrefix(d.Reason, "kept 5: 5 workers hold messages") {
		t.Fatalf("scale-in with 5 busy workers: %+v", d)
	}
	settle(t, f)
	for range 3 {
		clk.Advance(10 * time.Second)
		if d = ctrl.Tick(ctx); d.To != 5 || d.Error != "" {
			t.Fatalf("while 5 workers are busy: %+v", d)
		}
	}
	for _, w := range f.Workers() {
		if _, ok := busy[w.PID]; !ok || w.State != localfleet.StateBusy {
			t.Fatalf("worker %+v is not one of the busy ones %v", w, busy)
		}
	}

	e.release()
	testwait.For(t, 30*time.Second, "the fleet to scale to zero once the messages are done", func() bool {
		clk.Advance(10 * time.Second)
		d = ctrl.Tick(ctx)
		return d.To == 0 && d.Applied
	})
	started, done := e.handled()
	if len(started) != 5 || len(done) != 5 {
		t.Fatalf("handled started=%v done=%v, want 5 messages each once", started, done)
	}
	for id, counts := range started {
		if len(counts) != 1 || counts[0] != 1 || done[id] != 1 {
			t.Fatalf("message %s: receive counts %v, finished %d times; want one delivery", id, counts, done[id])
		}
	}
}
