package fleettest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/fleettest"
)

// lifoFleet is a deliberately wrong fleet: it removes the newest workers
// whether they are busy or not, and so must fail the suite.
type lifoFleet struct {
	mu   sync.Mutex
	busy []bool
}

func (f *lifoFleet) State(ctx context.Context) (autoscale.FleetState, error) {
	if err := ctx.Err(); err != nil {
		return autoscale.FleetState{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return autoscale.FleetState{Desired: len(f.busy), Running: len(f.busy)}, nil
}

func (f *lifoFleet) SetDesired(ctx context.Context, n int) error {
	if n < 0 {
		return fmt.Errorf("lifo: %w", autoscale.ErrInvalidDesired)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.busy) < n {
		f.busy = append(f.busy, false)
	}
	f.busy = f.busy[:n]
	return nil
}

func TestSuiteCatchesAFleetThatRemovesBusyWorkers(t *testing.T) {
	if os.Getenv("FLEETTEST_RUN_LIFO") == "1" {
		fleettest.Run(t, func(t *testing.T) fleettest.Harness {
			f := &lifoFleet{}
			return fleettest.Harness{
				Fleet:  f,
				Settle: func(*testing.T) {},
				MarkBusy: func(t *testing.T, n int) func() int {
					f.mu.Lock()
					defer f.mu.Unlock()
					first := len(f.busy) - n // the newest: the ones a LIFO fleet removes
					for i := first; i < len(f.busy); i++ {
						f.busy[i] = true
					}
					return func() int {
						f.mu.Lock()
						defer f.mu.Unlock()
						alive := 0
						for i := first; i < len(f.busy); i++ {
							if f.busy[i] {
								alive++
							}
						}
						return alive
					}
				},
			}
		})
		return
	}
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSuiteCatchesAFleetThatRemovesBusyWorkers$", "-test.v")
	cmd.Env = append(os.Environ(), "FLEETTEST_RUN_LIFO=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a fleet that removes busy workers:\n%s", out)
	}
	if !strings.Contains(string(out), "--- FAIL: TestSuiteCatchesAFleetThatRemovesBusyWorkers/RemovesIdleWorkersFirst") ||
		!strings.Contains(string(out), "removed 2 busy ones") {
		t.Fatalf("expected the idle-first subtest to fail:\n%s", out)
	}
	if strings.Contains(string(out), "--- FAIL: TestSuiteCatchesAFleetThatRemovesBusyWorkers/ScaleInAndToZero") {
		t.Fatalf("a correct part of the fleet failed:\n%s", out)
	}
}
