// Package fleettest is the conformance suite for autoscale.Fleet. Every
// fleet implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		fleettest.Run(t, func(t *testing.T) fleettest.Harness {
//			f := newMyFleet(t)
//			return fleettest.Harness{Fleet: f, Settle: ..., MarkBusy: ...}
//		})
//	}
package fleettest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/qscale/qscale/autoscale"
)

// Harness is one fresh fleet and the hooks the suite needs to drive it.
type Harness struct {
	Fleet autoscale.Fleet
	// Settle returns once the fleet has acted on its desired count: every
	// worker asked for is running and every removed one is gone (advance a
	// fake clock, or wait on the orchestrator). Required.
	Settle func(t *testing.T)
	// MarkBusy makes n running workers busy (processing a message) and
	// returns a function that reports how many of those n still run.
	// Optional: without it the idle-first test is skipped.
	MarkBusy func(t *testing.T, n int) (stillRunning func() int)
}

// Run runs the suite. newHarness is called once per subtest and must return
// an empty fleet (desired 0).
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	ctx := t.Context()
	state := func(t *testing.T, f autoscale.Fleet) autoscale.FleetState {
		t.Helper()
		s, err := f.State(ctx)
		if err != nil {
			t.Fatalf("State: %v", err)
		}
		if s.Desired < 0 || s.Running < 0 || s.Starting < 0 {
			t.Fatalf("State %+v has a negative count", s)
		}
		return s
	}
	set := func(t *testing.T, f autoscale.Fleet, n int) {
		t.Helper()
		if err := f.SetDesired(ctx, n); err != nil {
			t.Fatalf("SetDesired(%d): %v", n, err)
		}
	}
	settled := func(t *testing.T, h Harness, n int) {
		t.Helper()
		h.Settle(t)
		if s := state(t, h.Fleet).Size(); s != (autoscale.FleetState{Desired: n, Running: n}) {
			t.Fatalf("after settling at %d: State = %+v", n, s)
		}
	}

	t.Run("StartsEmpty", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		if s := state(t, h.Fleet).Size(); s != (autoscale.FleetState{}) {
			t.Fatalf("new fleet State = %+v, want all zero", s)
		}
	})
	t.Run("ScaleOutReportsDesiredAtOnce", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		set(t, h.Fleet, 3)
		s := state(t, h.Fleet)
		if s.Desired != 3 || s.Running+s.Starting > 3 {
			t.Fatalf("right after SetDesired(3): State = %+v", s)
		}
		settled(t, h, 3)
	})
	t.Run("ScaleInAndToZero", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		set(t, h.Fleet, 5)
		settled(t, h, 5)
		set(t, h.Fleet, 2)
		if s := state(t, h.Fleet); s.Desired != 2 {
			t.Fatalf("after SetDesired(2): Desired = %d", s.Desired)
		}
		settled(t, h, 2)
		set(t, h.Fleet, 0)
		settled(t, h, 0)
	})
	t.Run("SameCountIsNoOp", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		set(t, h.Fleet, 2)
		settled(t, h, 2)
		set(t, h.Fleet, 2)
		if s := state(t, h.Fleet).Size(); s != (autoscale.FleetState{Desired: 2, Running: 2}) {
			t.Fatalf("setting the same count changed the fleet: %+v", s)
		}
	})
	t.Run("NegativeIsInvalid", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		set(t, h.Fleet, 1)
		err := h.Fleet.SetDesired(ctx, -1)
		if !errors.Is(err, autoscale.ErrInvalidDesired) {
			t.Fatalf("SetDesired(-1) = %v, want ErrInvalidDesired", err)
		}
		if s := state(t, h.Fleet); s.Desired != 1 {
			t.Fatalf("a refused SetDesired changed Desired to %d", s.Desired)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := h.Fleet.SetDesired(cctx, 4); !errors.Is(err, context.Canceled) {
			t.Fatalf("SetDesired with a cancelled context = %v, want context.Canceled", err)
		}
		if _, err := h.Fleet.State(cctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("State with a cancelled context = %v, want context.Canceled", err)
		}
		if s := state(t, h.Fleet); s.Desired != 0 {
			t.Fatalf("a cancelled SetDesired changed Desired to %d", s.Desired)
		}
	})
	t.Run("RemovesIdleWorkersFirst", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		if h.MarkBusy == nil {
			t.Skip("the harness cannot mark workers busy")
		}
		set(t, h.Fleet, 4)
		settled(t, h, 4)
		alive := h.MarkBusy(t, 2)
		set(t, h.Fleet, 2)
		settled(t, h, 2)
		if n := alive(); n != 2 {
			t.Fatalf("scale-in from 4 to 2 with 2 busy workers removed %d busy ones", 2-n)
		}
	})
	t.Run("ConcurrentUse", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if err := h.Fleet.SetDesired(ctx, i%4+1); err != nil {
					t.Errorf("SetDesired: %v", err)
				}
				if _, err := h.Fleet.State(ctx); err != nil {
					t.Errorf("State: %v", err)
				}
			})
		}
		wg.Wait()
		set(t, h.Fleet, 3)
		settled(t, h, 3)
	})
}
