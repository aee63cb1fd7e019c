package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func run(t *testing.T, name string, mode Mode, mutate func(*Scenario)) *Result {
	t.Helper()
	sc, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&sc)
	}
	r, err := Run(t.Context(), Options{Scenario: sc, Mode: mode, Seed: 1, KeepTimeline: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoldenRuns(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"burst", "ramp", "stop"} {
		for _, mode := range []Mode{QScale, AWS} {
			t.Run(name+"-"+string(mode), func(t *testing.T) {
				t.Parallel()
				r := run(t, name, mode, nil)
				var b bytes.Buffer
				if err := r.WriteReport(&b, true); err != nil {
					t.Fatal(err)
				}
				golden(t, name+"-"+string(mode), b.Bytes())
				var svg bytes.Buffer
				if err := r.WriteSVG(&svg); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(svg.String(), "<svg") || strings.Count(svg.String(), "<polyline") != 3 {
					t.Fatalf("SVG looks wrong: %.200s", svg.String())
				}
			})
		}
	}
}

func TestBurstQScaleBeatsAWS(t *testing.T) {
	t.Parallel()
	q := run(t, "burst", QScale, nil)
	a := run(t, "burst", AWS, nil)
	if q.Completed != 10000 || q.Remaining != 0 {
		t.Fatalf("qscale left messages: %+v", q)
	}
	if q.FirstScaleOut < 0 || q.FirstScaleOut > 2*time.Second {
		t.Fatalf("qscale first scale-out after %s, want within 2 s", q.FirstScaleOut)
	}
	if a.FirstScaleOut < 2*time.Minute {
		t.Fatalf("AWS emulation scaled out after %s; three one-minute datapoints take over 2 min", a.FirstScaleOut)
	}
	if q.WaitP99 >= a.WaitP99 {
		t.Fatalf("qscale p99 %s not better than AWS emulation %s", q.WaitP99, a.WaitP99)
	}
	if q.PeakWorkers > 50 {
		t.Fatalf("peak %d above the maximum 50", q.PeakWorkers)
	}
}

func TestSteadyLoadDoesNotFlap(t *testing.T) {
	t.Parallel()
	// 100 msg/s at 0.1 s needs 10 workers; start with 12 and hold, or
	// adjust once: no reversals, few actions.
	r := run(t, "stop", QScale, func(s *Scenario) { s.Duration, s.InitialWorkers = 30*time.Minute, 12 })
	if r.Reversals > 0 || len(r.Actions) > 3 {
		var b bytes.Buffer
		r.WriteReport(&b, true)
		t.Fatalf("%d reversals on a steady 100 msg/s:\n%s", r.Reversals, b.String())
	}
}

func TestStopScalesToZero(t *testing.T) {
	t.Parallel()
	r := run(t, "stop", QScale, nil)
	last := r.Timeline[len(r.Timeline)-1]
	if last.Desired != 0 || last.Running != 0 {
		t.Fatalf("after the load stopped the fleet is %+v, want 0", last)
	}
}

func TestReadTrace(t *testing.T) {
	t.Parallel()
	tr, err := ReadTrace(strings.NewReader("second,count\n0,5\n2,3\n2.5,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.PerSecond; len(got) != 3 || got[0] != 5 || got[2] != 4 {
		t.Fatalf("trace %v", got)
	}
	if n := tr.Arrivals(0, 3*time.Second); n != 9 {
		t.Fatalf("arrivals over 3 s = %d", n)
	}
	if _, err := ReadTrace(strings.NewReader("0,5\nx,1\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad line: %v", err)
	}
}

func TestParseDist(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"100ms": "const:100ms", "exp:2s": "exp:2s", "uniform:50ms-150ms": "uniform:50ms-150ms"} {
		d, err := ParseDist(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDist(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "exp:-1s", "uniform:2s-1s", "gauss:1s"} {
		if _, err := ParseDist(bad); err == nil {
			t.Errorf("ParseDist(%q) accepted", bad)
		}
	}
}

// BenchmarkDaily24h simulates the 24-hour daily cycle at 1 s resolution
// (86,400 controller ticks, about 4.3 million messages).
func BenchmarkDaily24h(b *testing.B) {
	for b.Loop() {
		sc, _ := Builtin("daily")
		if _, err := Run(b.Context(), Options{Scenario: sc, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTraceWithExponentialProcessing(t *testing.T) {
	t.Parallel()
	tr, err := ReadTrace(strings.NewReader("second,count\n0,50\n5,200\n60,1000\n61,1000\n300,10\n"))
	if err != nil {
		t.Fatal(err)
	}
	sc := Scenario{Name: "trace", Load: tr, Duration: 15 * time.Minute, Processing: Dist{Kind: "exp", Mean: 200 * time.Millisecond}, StartupDelay: 20 * time.Second}
	r, err := Run(t.Context(), Options{Scenario: sc, Seed: 7, Bounds: policyBounds(0, 20)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Arrived != 2260 || r.Completed != 2260 {
		t.Fatalf("arrived %d, completed %d; want 2260 of each", r.Arrived, r.Completed)
	}
	if r.PeakWorkers > 20 || r.PeakWorkers < 2 {
		t.Fatalf("peak %d workers, want 2..20", r.PeakWorkers)
	}
	if !(r.WaitP50 <= r.WaitP95 && r.WaitP95 <= r.WaitP99 && r.WaitP99 <= r.WaitMax+time.Millisecond) {
		t.Fatalf("percentiles out of order: %s %s %s %s", r.WaitP50, r.WaitP95, r.WaitP99, r.WaitMax)
	}
}

func policyBounds(lo, hi int) policy.Bounds { return policy.Bounds{Min: lo, Max: hi} }

// The predictor learns the bursts every 10 minutes: from the third on, the
// workers are ready when a burst comes and its messages wait less than the
// objective, for little more than the reactive cost.
func TestPredictorOnBursts(t *testing.T) {
	t.Parallel()
	for _, startup := range []time.Duration{5 * time.Second, 30 * time.Second} {
		sc, err := Builtin("bursts")
		if err != nil {
			t.Fatal(err)
		}
		sc.StartupDelay, sc.Duration = startup, 3*time.Hour
		reactive, err := Run(t.Context(), Options{Scenario: sc, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		sc, _ = Builtin("bursts")
		sc.StartupDelay, sc.Duration = startup, 3*time.Hour
		predicted, err := Run(t.Context(), Options{Scenario: sc, Seed: 1, Predict: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range predicted.EpisodeMaxWait[2:] {
			if w > predicted.Objective {
				t.Errorf("start-up %s: burst %d waited up to %s, above the objective", startup, i+3, w)
			}
		}
		if r := predicted.WorkerSeconds / reactive.WorkerSeconds; r > 1.15 {
			t.Errorf("start-up %s: the predictor costs %.2fx the reactive policy", startup, r)
		}
	}
}

// A scheduled window raises the minimum on the simulated clock, and the
// report shows the decision.
func TestScheduleInSim(t *testing.T) {
	t.Parallel()
	c, err := autoscale.ParseCron("9-59/10 * * * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	n := 36
	sc, _ := Builtin("bursts")
	sc.Schedule = autoscale.Schedule{{Name: "bursts", Start: c, Duration: 2 * time.Minute, Min: &n}}
	r, err := Run(t.Context(), Options{Scenario: sc, Seed: 1, Step: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range r.EpisodeMaxWait {
		if w > r.Objective {
			t.Errorf("burst %d waited up to %s with the workers scheduled", i+1, w)
		}
	}
	// The run starts at 00:00:30, inside the window opened at 23:59.
	found := false
	for _, a := range r.Actions {
		found = found || (a.To == 36 && strings.HasPrefix(a.Reason, "schedule 'bursts' raises min to 36 until 00:11"))
	}
	if !found {
		var b bytes.Buffer
		r.WriteReport(&b, true)
		t.Fatalf("no scale-out for the window at 00:09:\n%s", b.String())
	}
}

// On a stream that recurs (100 msg/s for 5 minutes every 10), the
// predicted workers are sized for the stream and kept for the episode's
// first minute: the longest waits fall well below the reactive ones.
func TestPredictorOnSquare(t *testing.T) {
	t.Parallel()
	runWith := func(predict bool) *Result {
		sc, _ := Builtin("square")
		sc.Duration = 2 * time.Hour
		r, err := Run(t.Context(), Options{Scenario: sc, Seed: 1, Predict: predict})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	reactive, predicted := runWith(false), runWith(true)
	for i := 2; i < len(predicted.EpisodeMaxWait); i++ {
		if p, r := predicted.EpisodeMaxWait[i], reactive.EpisodeMaxWait[i]; p > r*2/3 {
			t.Errorf("episode %d: longest wait %s with the predictor, %s without", i+1, p, r)
		}
	}
	if r := predicted.WorkerSeconds / reactive.WorkerSeconds; r > 1.05 {
		t.Errorf("the predictor costs %.2fx the reactive policy", r)
	}
}
