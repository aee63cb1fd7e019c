package sim

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// variants are the fleet physics every added scenario runs with.
var variants = []struct {
	name       string
	processing Dist
	startup    time.Duration
}{
	{"const-5s", Dist{Kind: "const", Mean: 100 * time.Millisecond}, 5 * time.Second},
	{"exp-5s", Dist{Kind: "exp", Mean: 100 * time.Millisecond}, 5 * time.Second},
	{"const-30s", Dist{Kind: "const", Mean: 100 * time.Millisecond}, 30 * time.Second},
	{"exp-30s", Dist{Kind: "exp", Mean: 100 * time.Millisecond}, 30 * time.Second},
}

// TestGoldenMatrix runs each added scenario with constant and exponential
// processing times and 5 s and 30 s start-ups, in qscale and AWS mode, and
// keeps every report (with the oracle) in a golden file per scenario.
func TestGoldenMatrix(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"steady", "bursts", "square", "drift", "heavy", "trickle"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			for _, v := range variants {
				var q, a *Result
				for _, mode := range []Mode{QScale, AWS} {
					r := run(t, name, mode, func(s *Scenario) { s.Processing, s.StartupDelay = v.processing, v.startup })
					fmt.Fprintf(&b, "== %s %s\n", v.name, mode)
					if err := r.WriteReport(&b, false); err != nil {
						t.Fatal(err)
					}
					if r.Remaining != 0 {
						t.Errorf("%s %s: %d messages left queued", v.name, mode, r.Remaining)
					}
					if r.PeakWorkers > r.Bounds.Max {
						t.Errorf("%s %s: peak %d above the maximum %d", v.name, mode, r.PeakWorkers, r.Bounds.Max)
					}
					if mode == QScale {
						q = r
					} else {
						a = r
					}
				}
				checkTargets(t, v.name, v.startup, q, a)
			}
			golden(t, "matrix-"+name, b.Bytes())
		})
	}
}

// TestSteadyLoadReversalsProperty: under a steady Poisson load of any rate
// the fleet makes at most 2 direction reversals for the arrival episode plus
// 6 an hour, whatever the processing-time distribution and start-up.
func TestSteadyLoadReversalsProperty(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 3))
	for i := range 12 {
		rate := 1 + r.Float64()*300
		v := variants[r.IntN(len(variants))]
		sc := Scenario{
			Name: fmt.Sprintf("poisson %.1f/s", rate), Duration: time.Hour,
			Load:       &Poisson{Seed: uint64(i), Fn: func(time.Duration) float64 { return rate }},
			Processing: v.processing, StartupDelay: v.startup,
		}
		res, err := Run(t.Context(), Options{Scenario: sc, Seed: uint64(i), Bounds: policyBounds(0, 100)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reversals > res.AllowedReversals() {
			var b bytes.Buffer
			res.WriteReport(&b, true)
			t.Errorf("%s, %s: %d reversals, budget %d\n%s", sc.Name, v.name, res.Reversals, res.AllowedReversals(), b.String())
		}
	}
}

// BenchmarkController runs every added scenario and variant in qscale and
// AWS mode and reports, per scenario, the cost relative to the oracle, the
// p99 wait in seconds and the direction reversals (qscale's, and AWS's with
// the aws- prefix).
func BenchmarkController(b *testing.B) {
	for _, name := range []string{"steady", "bursts", "square", "drift", "heavy", "trickle", "burst", "stop", "ramp"} {
		for _, v := range variants {
			b.Run(name+"/"+v.name, func(b *testing.B) {
				var q, a *Result
				for b.Loop() {
					for _, mode := range []Mode{QScale, AWS} {
						sc, _ := Builtin(name)
						sc.Processing, sc.StartupDelay = v.processing, v.startup
						r, err := Run(b.Context(), Options{Scenario: sc, Mode: mode, Seed: 1})
						if err != nil {
							b.Fatal(err)
						}
						if mode == QScale {
							q = r
						} else {
							a = r
						}
					}
				}
				b.ReportMetric(q.OracleRatio(), "x-oracle")
				b.ReportMetric(q.WaitP99.Seconds(), "p99-s")
				b.ReportMetric(float64(q.Reversals), "reversals")
				b.ReportMetric(a.OracleRatio(), "aws-x-oracle")
				b.ReportMetric(a.WaitP99.Seconds(), "aws-p99-s")
			})
		}
	}
}

// TestControllerTargets holds qscale to its targets on the scenarios the
// matrix does not run (TestGoldenMatrix checks its own the same way).
func TestControllerTargets(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"burst", "stop", "ramp"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, v := range variants {
				mut := func(s *Scenario) { s.Processing, s.StartupDelay = v.processing, v.startup }
				checkTargets(t, v.name, v.startup, run(t, name, QScale, mut), run(t, name, AWS, mut))
			}
		})
	}
}

// checkTargets holds the qscale run q to its targets: worker-seconds at
// most 1.2× the oracle's, direction reversals within the budget, nothing
// left queued, p99 wait at most the objective plus the start-up (from an
// idle fleet) wherever the maximum lets the oracle meet the objective, and
// cheaper and quicker than the AWS emulation a.
func checkTargets(t *testing.T, variant string, startup time.Duration, q, a *Result) {
	t.Helper()
	if r := q.OracleRatio(); r > 1.2 {
		t.Errorf("%s: %.0f worker-seconds, %.2fx the oracle's %.0f", variant, q.WorkerSeconds, r, q.Oracle.WorkerSeconds)
	}
	if q.Reversals > q.AllowedReversals() {
		t.Errorf("%s: %d reversals, budget %d", variant, q.Reversals, q.AllowedReversals())
	}
	if q.Remaining != 0 {
		t.Errorf("%s: %d messages left queued", variant, q.Remaining)
	}
	if limit := q.Objective + startup; q.Oracle.Late == 0 && q.WaitP99 > limit {
		t.Errorf("%s: p99 wait %s above %s", variant, q.WaitP99, limit)
	}
	if q.WorkerSeconds >= a.WorkerSeconds || (a.WaitP99 > time.Second && q.WaitP99 >= a.WaitP99) {
		t.Errorf("%s: qscale %.0f worker-seconds, p99 %s; AWS %.0f, %s", variant, q.WorkerSeconds, q.WaitP99, a.WorkerSeconds, a.WaitP99)
	}
}
