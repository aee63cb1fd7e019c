package memfleet_test

import (
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale/fleettest"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/internal/clock"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	fleettest.Run(t, func(t *testing.T) fleettest.Harness {
		clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		const delay = 30 * time.Second
		f := memfleet.New(clk, delay)
		return fleettest.Harness{
			Fleet:  f,
			Settle: func(*testing.T) { clk.Advance(delay) },
			MarkBusy: func(t *testing.T, n int) func() int {
				busy := map[int]bool{}
				f.Range(func(w *memfleet.Worker) bool {
					if len(busy) < n && !w.ReadyAt.After(clk.Now()) {
						w.BusyUntil = clk.Now().Add(time.Hour)
						busy[w.ID] = true
					}
					return true
				})
				return func() int {
					alive := 0
					f.Range(func(w *memfleet.Worker) bool {
						if busy[w.ID] {
							alive++
						}
						return true
					})
					return alive
				}
			},
		}
	})
}

func TestStartingWorkersCountAndGoFirst(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := memfleet.New(clk, 10*time.Second)
	ctx := t.Context()
	if err := f.SetDesired(ctx, 2); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	if err := f.SetDesired(ctx, 5); err != nil {
		t.Fatal(err)
	}
	s, _ := f.State(ctx)
	if s.Running != 2 || s.Starting != 3 || s.Desired != 5 {
		t.Fatalf("state %+v, want 2 running + 3 starting", s)
	}
	if err := f.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	s, _ = f.State(ctx)
	if s.Running != 2 || s.Starting != 1 {
		t.Fatalf("scale-in removed running workers before starting ones: %+v", s)
	}
}
