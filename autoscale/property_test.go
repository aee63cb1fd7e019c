package autoscale_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// randomFleet fails SetDesired at random and sometimes has its size changed
// behind the controller's back (within the bounds).
type randomFleet struct {
	*memfleet.Fleet
	mu sync.Mutex
	r  *rand.Rand
}

func (f *randomFleet) SetDesired(ctx context.Context, n int) error {
	f.mu.Lock()
	fail := f.r.IntN(4) == 0
	f.mu.Unlock()
	if fail {
		return errors.New("throttled")
	}
	return f.Fleet.SetDesired(ctx, n)
}

// TestControllerInvariantsRandomised drives the whole controller (target
// tracking, latency and a step policy; or the queueing policy alone) with random backlogs, random
// orchestrator failures and random start-up delays, and checks every tick:
// the fleet stays within bounds, every change is explained, and errors
// surface in the decision.
func TestControllerInvariantsRandomised(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2026, 4))
	for iter := range 60 {
		clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		b := policy.Bounds{Min: r.IntN(3), Max: 3 + r.IntN(30)}
		mf := memfleet.New(clk, time.Duration(r.IntN(60))*time.Second)
		if err := mf.SetDesired(t.Context(), b.Min); err != nil {
			t.Fatal(err)
		}
		fleet := &randomFleet{Fleet: mf, r: rand.New(rand.NewPCG(uint64(iter), 1))}
		src := &source{}
		tt, _ := policy.NewTargetTracking("tt", policy.TargetTrackingConfig{TargetValue: float64(10 + r.IntN(200)), ScaleOutCooldown: new(r.IntN(60)), ScaleInCooldown: new(r.IntN(120))})
		lat, _ := policy.NewLatency("slo", policy.LatencyConfig{AcceptableWait: policy.Duration(time.Duration(1+r.IntN(20)) * time.Second)})
		step, _ := policy.NewStepScaling("step", policy.StepScalingSpec{
			Alarm: policy.Alarm{Threshold: 1000, ComparisonOperator: policy.GreaterThanOrEqualToThreshold},
			Configuration: policy.StepScalingConfig{AdjustmentType: policy.ExactCapacity, Cooldown: 30,
				StepAdjustments: []policy.StepAdjustment{{MetricIntervalLowerBound: new(0.0), ScalingAdjustment: b.Max + 5}}},
		})
		qp, _ := policy.NewQueueing("queueing", policy.QueueingConfig{AcceptableWait: policy.Duration(time.Duration(1+r.IntN(20)) * time.Second)})
		ps := []policy.Policy{tt, lat, step}
		if iter%2 == 1 {
			ps = []policy.Policy{qp} // the default policy alone
		}
		c, err := autoscale.New(autoscale.Options{Source: src, Fleet: fleet, Policies: ps, Bounds: b, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		visible := 0
		for tick := range 300 {
			if r.IntN(10) == 0 {
				visible = r.IntN(3000)
			}
			src.set(visible)
			d := c.Tick(t.Context())
			s, _ := mf.State(t.Context())
			if s.Desired < b.Min || s.Desired > b.Max {
				t.Fatalf("iter %d tick %d: fleet at %d outside %d..%d after %+v", iter, tick, s.Desired, b.Min, b.Max, d)
			}
			if d.To < b.Min || d.To > b.Max {
				t.Fatalf("iter %d tick %d: decided %d outside %d..%d", iter, tick, d.To, b.Min, b.Max)
			}
			if d.Reason == "" || d.Rule == "" {
				t.Fatalf("iter %d tick %d: unexplained decision %+v", iter, tick, d)
			}
			if d.Error != "" && (d.Attempt == 0 || d.Applied) {
				t.Fatalf("iter %d tick %d: error without attempt count, or applied: %+v", iter, tick, d)
			}
			if d.Applied && d.To != s.Desired {
				t.Fatalf("iter %d tick %d: applied %d but the fleet holds %d", iter, tick, d.To, s.Desired)
			}
			clk.Advance(time.Duration(1+r.IntN(3)) * time.Second)
		}
	}
}
