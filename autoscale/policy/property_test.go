package policy

import (
	"math/rand/v2"
	"testing"
	"time"
)

// world is a minimal fleet for property tests: capacity moves to the
// decided value at once and workers become running after startTicks.
type world struct {
	capacity int
	ready    []int // tick at which each of the capacity workers is running
}

func (w *world) input(now time.Time, tick, visible int) Input {
	run := 0
	for _, r := range w.ready {
		if r <= tick {
			run++
		}
	}
	return Input{Now: now, Capacity: w.capacity, Running: run, Starting: w.capacity - run, Visible: visible, InFlight: visible / 10}
}

func (w *world) set(n, tick, startTicks int) {
	for len(w.ready) < n {
		w.ready = append(w.ready, tick+startTicks)
	}
	w.ready = w.ready[:n]
	w.capacity = n
}

func randomTT(r *rand.Rand) (*TargetTracking, time.Duration, time.Duration) {
	out, in := r.IntN(120), r.IntN(300)
	cfg := TargetTrackingConfig{TargetValue: float64(1 + r.IntN(200)), ScaleOutCooldown: &out, ScaleInCooldown: &in}
	if r.IntN(4) == 0 {
		cfg.ScaleOutDatapoints = 1 + r.IntN(3)
		cfg.ScaleInDatapoints = 1 + r.IntN(15)
	}
	p, err := NewTargetTracking("tt", cfg)
	if err != nil {
		panic(err)
	}
	return p, time.Duration(out) * time.Second, time.Duration(in) * time.Second
}

// TestPropertiesRandomised drives single target tracking policies and mixed
// sets through random loads and checks the invariants on every step.
func TestPropertiesRandomised(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(4, 2026))
	for iter := range 120 {
		tt, outCD, inCD := randomTT(r)
		b := Bounds{Min: r.IntN(3), Max: 3 + r.IntN(40)}
		ps := []Policy{tt}
		mixed := iter%2 == 1
		if mixed {
			lat, _ := NewLatency("slo", LatencyConfig{AcceptableWait: Duration(time.Duration(1+r.IntN(30)) * time.Second)})
			st, _ := NewStepScaling("step", StepScalingSpec{
				Alarm: Alarm{Threshold: float64(r.IntN(500)), ComparisonOperator: GreaterThanOrEqualToThreshold},
				Configuration: StepScalingConfig{AdjustmentType: PercentChangeInCapacity, Cooldown: r.IntN(120),
					StepAdjustments: []StepAdjustment{{MetricIntervalLowerBound: fp(0), ScalingAdjustment: 10 + r.IntN(100)}}},
			})
			ps = append(ps, lat, st)
		}
		set := NewSet(b, ps...)
		w := &world{}
		w.set(b.Min+r.IntN(b.Max-b.Min+1), 0, 0)
		startTicks := r.IntN(60)
		now := t0
		visible := r.IntN(5000)
		var lastOut, lastIn Activity
		for tick := range 600 {
			now = now.Add(time.Duration(1+r.IntN(5)) * time.Second)
			if r.IntN(20) == 0 {
				visible = max(0, visible+r.IntN(4001)-2000)
			}
			x := w.input(now, tick, visible)
			o, next := set.Decide(x)
			if o.Desired < b.Min || o.Desired > b.Max {
				t.Fatalf("iter %d tick %d: desired %d outside %d..%d (%s)", iter, tick, o.Desired, b.Min, b.Max, o.Reason)
			}
			set.Commit(x, o, next, true)
			if !mixed && len(o.Voters) > 0 {
				switch o.Direction() {
				case In:
					if !lastIn.At.IsZero() && now.Before(lastIn.At.Add(inCD)) {
						t.Fatalf("iter %d tick %d: scale-in %d -> %d at %s inside the scale-in cooldown of %s from %s (%s)",
							iter, tick, o.From, o.Desired, now, inCD, lastIn.At, o.Reason)
					}
					lastIn = Activity{At: now, From: o.From, To: o.Desired}
				case Out:
					if !lastOut.At.IsZero() && now.Before(lastOut.At.Add(outCD)) && o.Rule == "scale-out" && o.Desired <= lastOut.To {
						t.Fatalf("iter %d tick %d: scale-out to %d inside the cooldown of the scale-out to %d", iter, tick, o.Desired, lastOut.To)
					}
					lastOut = Activity{At: now, From: o.From, To: o.Desired}
					lastIn = Activity{}
				}
			}
			w.set(o.Desired, tick, startTicks)
		}
	}
}

// TestNoFlappingOnSteadyLoad holds the load steady and checks that the
// capacity moves in one direction at most: no reversals.
func TestNoFlappingOnSteadyLoad(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 2026))
	for iter := range 120 {
		tt, _, _ := randomTT(r)
		ps := []Policy{tt}
		if iter%2 == 1 {
			lat, _ := NewLatency("slo", LatencyConfig{AcceptableWait: Duration(time.Duration(1+r.IntN(30)) * time.Second)})
			ps = append(ps, lat)
		}
		b := Bounds{Min: 0, Max: 1000}
		set := NewSet(b, ps...)
		w := &world{}
		w.set(1+r.IntN(200), 0, 0)
		visible := r.IntN(20000)
		rate := float64(r.IntN(100))
		pt := time.Duration(1+r.IntN(500)) * time.Millisecond
		startTicks := r.IntN(30)
		now := t0
		last := Hold
		reversals := 0
		for tick := range 600 {
			now = now.Add(time.Second)
			x := w.input(now, tick, visible)
			x.ArrivalRate, x.ProcessingTime = rate, pt
			o, next := set.Decide(x)
			set.Commit(x, o, next, true)
			if d := o.Direction(); d != Hold {
				if last != Hold && d != last {
					reversals++
				}
				last = d
			}
			w.set(o.Desired, tick, startTicks)
		}
		if reversals > 0 {
			t.Fatalf("iter %d: %d direction reversals on a steady load (visible %d, rate %v, pt %s, policies %d)", iter, reversals, visible, rate, pt, len(ps))
		}
	}
}
