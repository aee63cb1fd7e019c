package k8sfleet_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// timedFleet records how long each scale-in's SetDesired took (status
// reads, annotations and the scale write).
type timedFleet struct {
	autoscale.Fleet
	mu      sync.Mutex // guards scaleIn
	scaleIn []time.Duration
	last    int
}

func (f *timedFleet) SetDesired(ctx context.Context, n int) error {
	t0 := time.Now()
	err := f.Fleet.SetDesired(ctx, n)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && n < f.last && n > 0 {
		f.scaleIn = append(f.scaleIn, time.Since(t0))
	}
	if err == nil {
		f.last = n
	}
	return err
}

// backlog is a simulated queue: its visible count is set by the test.
type backlog struct{ visible atomic.Int64 }

func (b *backlog) Observe(context.Context) (autoscale.QueueStats, error) {
	return autoscale.QueueStats{Visible: int(b.visible.Load())}, nil
}

// The autoscaler, on the real clock, takes a Deployment from 0 to
// QSCALE_K8S_SCALE_PODS (default 300) Ready pods when a backlog appears;
// scales in to about a fifth when most of it is gone, with a sixth of the
// workers busy, and every busy one survives; and goes back to 0 when the
// backlog is gone. Times are logged; docs/benchmarks.md records them.
func TestAutoscalerScalesDeploymentOutAndToZero(t *testing.T) {
	t.Parallel()
	n := 300
	if v := os.Getenv("QSCALE_K8S_SCALE_PODS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("QSCALE_K8S_SCALE_PODS=%q", v)
		}
	}
	fx := setup(t)
	ctx := t.Context()
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{
		TargetValue: 100, ScaleOutCooldown: new(0), ScaleInCooldown: new(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	src := &backlog{}
	timed := &timedFleet{Fleet: fx.fleet}
	decisions := make(chan autoscale.Decision, 1024)
	ctrl, err := autoscale.New(autoscale.Options{
		Source: src, Fleet: timed, Policies: []policy.Policy{tt},
		Bounds: policy.Bounds{Min: 0, Max: n}, Interval: 500 * time.Millisecond, Clock: clock.Real{},
		OnDecision: func(d autoscale.Decision) {
			select {
			case decisions <- d:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctrl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctrl.Stop(context.Background()) })

	waitState := func(what string, want func(autoscale.FleetState) bool) (autoscale.FleetState, time.Duration) {
		t.Helper()
		t0 := time.Now()
		var last autoscale.FleetState
		fx.cl.Wait(t, 60*time.Second, what, func(ctx context.Context) (bool, error) {
			s, err := fx.fleet.State(ctx)
			last = s
			return err == nil && want(s), err
		})
		return last, time.Since(t0)
	}

	src.visible.Store(int64(100 * n * 10)) // far above n workers × target
	_, firstReady := waitState("the first Ready pod", func(s autoscale.FleetState) bool { return s.Running >= 1 })
	s, allReady := waitState(strconv.Itoa(n)+" Ready pods", func(s autoscale.FleetState) bool { return s.Running == n })
	if s.Desired != n {
		t.Fatalf("at %d Ready pods the fleet wants %d", n, s.Desired)
	}
	allReady += firstReady
	t.Logf("0 -> %d: first pod Ready after %s, all %d Ready after %s", n, firstReady.Round(10*time.Millisecond), n, allReady.Round(10*time.Millisecond))

	// Scale in to ceil(n/6 × 100 / 90) workers or so, with n/6 busy.
	busy := n / 6
	alive := fx.markBusy(t, busy)
	src.visible.Store(int64(100 * busy))
	s, scaleIn := waitState("scale-in", func(s autoscale.FleetState) bool { return s.Desired < n && s.Running == s.Desired })
	fx.settle(t)
	if got := alive(); got != busy {
		t.Fatalf("scale-in from %d to %d removed %d of the %d busy workers", n, s.Desired, busy-got, busy)
	}
	timed.mu.Lock()
	t.Logf("%d -> %d with %d busy: every busy worker kept; Running == Desired after %s; SetDesired (%d status reads, the annotations the ranking needs, then the scale) took %v",
		n, s.Desired, busy, scaleIn.Round(10*time.Millisecond), n, timed.scaleIn)
	timed.mu.Unlock()

	fx.idleAll() // their messages are done: the busy floor lets them go
	src.visible.Store(0)
	zeroAt := time.Now()
	_, toZero := waitState("scale to zero", func(s autoscale.FleetState) bool { return s.Size() == autoscale.FleetState{} })
	fx.cl.Wait(t, 60*time.Second, "every pod gone", func(ctx context.Context) (bool, error) {
		pods, err := fx.pods(ctx)
		return err == nil && len(pods) == 0, err
	})
	t.Logf("%d -> 0: desired and ready 0 after %s, every pod deleted after %s", s.Desired, toZero.Round(10*time.Millisecond), time.Since(zeroAt).Round(10*time.Millisecond))
	ctrl.Stop(t.Context())
	close(decisions)
	for d := range decisions {
		if d.To > n || d.To < 0 {
			t.Errorf("decision outside the bounds: %+v", d)
		}
	}
}
