package k8sfleet_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// steadyQueue is a queue under a steady arrival rate, served by the
// Deployment's workers simulated as completions: each running worker
// completes one message every processing time. Its rates are those of the
// last rateWindow ticks, as a real source counts them. It is used from the
// test's goroutine only (Tick calls Observe there).
type steadyQueue struct {
	rate       float64       // arrivals per second
	processing time.Duration // per message, per worker
	rnd        *rand.Rand

	running  int // ready workers, set by the test as the Deployment settles
	backlog  float64
	arrivals []float64 // per tick, the last rateWindow
	served   []float64
}

const rateWindow = 10 // ticks

// step moves the queue on by dt: Poisson-like arrivals (normal with the
// Poisson's variance), then what the running workers complete.
func (q *steadyQueue) step(dt time.Duration) {
	mean := q.rate * dt.Seconds()
	in := math.Max(0, math.Round(mean+q.rnd.NormFloat64()*math.Sqrt(mean)))
	capacity := float64(q.running) * dt.Seconds() / q.processing.Seconds()
	out := math.Min(q.backlog+in, capacity)
	q.backlog += in - out
	q.arrivals = append(q.arrivals, in/dt.Seconds())
	q.served = append(q.served, out/dt.Seconds())
	if len(q.arrivals) > rateWindow {
		q.arrivals, q.served = q.arrivals[1:], q.served[1:]
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(1, len(xs)))
}

func (q *steadyQueue) Observe(context.Context) (autoscale.QueueStats, error) {
	served := mean(q.served)
	s := autoscale.QueueStats{
		Visible:        int(q.backlog),
		InFlight:       int(math.Round(served * q.processing.Seconds())),
		ArrivalRate:    mean(q.arrivals),
		CompletionRate: served,
		ProcessingTime: q.processing,
	}
	if q.backlog >= 1 {
		// Little's law: the oldest has waited about the backlog's
		// drain time at the current completion rate.
		s.OldestAge = time.Duration(q.backlog / math.Max(served, 0.1) * float64(time.Second))
	}
	return s, nil
}

// On the real control plane, the default policy (queueing, acceptable wait
// 10 s) under steady Poisson loads of 0.5 s messages, 4 to 8 workers'
// worth: once it has settled (the first two minutes), the Deployment's
// replica count should change at most once in the next five (one last
// settling step), and stay between the load and twice the load.
//
// The arrival rate, counted over 10 s, varies by about 10 % (Poisson): the
// policy's deadband, its hysteresis on the steady-state count and its
// scale-in stabilisation keep that noise from reaching the Deployment.
func TestSteadyLoadKeepsDeploymentStill(t *testing.T) {
	t.Parallel()
	for _, rate := range []float64{8, 10, 13, 16} {
		t.Run(strconv.FormatFloat(rate, 'f', -1, 64)+"msgps", func(t *testing.T) {
			t.Parallel()
			changes, held := steadyRun(t, rate, 1)
			if len(changes) > 1 {
				for _, d := range changes {
					t.Logf("%s: %d -> %d: %s", d.Time.Format(time.TimeOnly), d.From, d.To, d.Reason)
				}
				t.Errorf("under a steady load of %v msg/s the Deployment changed size %d times in %d s after settling, want at most 1", rate, len(changes), steadyWindow)
			}
			t.Logf("%v msg/s of 500ms messages (%.1f workers' worth): the Deployment holds %d, %d changes after the first %d s", rate, rate/2, held, len(changes), steadyWarmUp)
		})
	}
}

const (
	steadyWarmUp = 120 // ticks of one second
	steadyWindow = 300 // ticks
)

// steadyRun runs the controller with the queueing policy on the fixture's
// Deployment for steadyWarmUp+steadyWindow ticks of a steady load of rate
// messages a second, and returns the changes of the window and the size
// held at the end.
func steadyRun(t *testing.T, rate float64, seed uint64) ([]autoscale.Decision, int) {
	t.Helper()
	fx := setup(t)
	ctx := t.Context()
	q, err := policy.NewQueueing("wait", policy.QueueingConfig{AcceptableWait: policy.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	src := &steadyQueue{rate: rate, processing: 500 * time.Millisecond, rnd: rand.New(rand.NewPCG(seed, 2))}
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctrl, err := autoscale.New(autoscale.Options{
		Source: src, Fleet: fx.fleet, Policies: []policy.Policy{q},
		Bounds: policy.Bounds{Min: 0, Max: 50}, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	load := src.rate * src.processing.Seconds()
	var changes []autoscale.Decision
	for i := range steadyWarmUp + steadyWindow {
		clk.Advance(time.Second)
		src.step(time.Second)
		d := ctrl.Tick(ctx)
		if d.Error != "" {
			t.Fatalf("tick %d: %+v", i, d)
		}
		if d.Applied && d.To != d.From {
			// The pods start (KWOK makes them Ready at once); the
			// workers they hold serve from the next tick.
			fx.settle(t)
			if i >= steadyWarmUp {
				changes = append(changes, d)
			}
		}
		src.running = d.To
		if i >= steadyWarmUp && (float64(d.To) < load || float64(d.To) > 2*load) {
			t.Errorf("tick %d: %d workers for a load of %.1f: %s", i, d.To, load, d.Reason)
		}
	}
	s, err := fx.fleet.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Desired != src.running || s.Running != s.Desired {
		t.Errorf("the Deployment is at %+v, the controller's last decision %d", s.Size(), src.running)
	}
	return changes, s.Desired
}
