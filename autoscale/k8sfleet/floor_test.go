package k8sfleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// On the real control plane: eight pods, five of whose workers hold long
// messages, and no backlog. The controller keeps the Deployment at five
// (deletion costs choose which pods go, the floor how many), every busy
// pod survives, and it scales to zero once they are done.
func TestBusyFloorKeepsBusyPods(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	if err := fx.fleet.SetDesired(ctx, 8); err != nil {
		t.Fatal(err)
	}
	fx.settle(t)
	alive := fx.markBusy(t, 5)

	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100, ScaleInCooldown: new(0)})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctrl, err := autoscale.New(autoscale.Options{
		Source: &backlog{}, Fleet: fx.fleet, Policies: []policy.Policy{tt},
		Bounds: policy.Bounds{Min: 0, Max: 10}, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	d := ctrl.Tick(ctx)
	if d.To != 5 || d.Rule != autoscale.RuleBusyFloor || !d.Applied || !strings.HasPrefix(d.Reason, "kept 5: 5 workers hold messages") {
		t.Fatalf("with 5 busy pods and no backlog: %+v", d)
	}
	fx.settle(t)
	for range 3 {
		clk.Advance(10 * time.Second)
		if d = ctrl.Tick(ctx); d.To != 5 || d.Error != "" {
			t.Fatalf("while 5 pods are busy: %+v", d)
		}
	}
	if got := alive(); got != 5 {
		t.Fatalf("%d of the 5 busy pods were removed", 5-got)
	}

	fx.idleAll()
	clk.Advance(10 * time.Second)
	if d = ctrl.Tick(ctx); d.To != 0 || !d.Applied || d.Error != "" {
		t.Fatalf("once the workers are idle: %+v", d)
	}
}
