package policy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

func TestErlangC(t *testing.T) {
	t.Parallel()
	// M/M/2 at a = 1: C = (a²/2! × 2/(2-1)) / (1 + a + a²/2! × 2/(2-1)) = 1/3.
	if got := ErlangC(2, 1); math.Abs(got-1.0/3) > 1e-12 {
		t.Fatalf("ErlangC(2, 1) = %v, want 1/3", got)
	}
	// M/M/1: C = ρ.
	if got := ErlangC(1, 0.7); math.Abs(got-0.7) > 1e-12 {
		t.Fatalf("ErlangC(1, 0.7) = %v, want 0.7", got)
	}
	if ErlangC(10, 10) != 1 || ErlangC(3, 0) != 0 {
		t.Fatal("ErlangC at the edges")
	}
	// 100 msg/s at 100 ms: a = 10; 11 servers keep p99 far under 10 s,
	// and the 0.95 utilisation cap asks for 11 as well.
	if got := SteadyServers(100, 0.1, 10, 0.99, 0.95, 1000); got != 11 {
		t.Fatalf("SteadyServers(100/s, 100ms, 10s) = %d, want 11", got)
	}
	// A tight objective needs more: p99 wait <= 50 ms at a = 10.
	if got := SteadyServers(100, 0.1, 0.05, 0.99, 1, 1000); got <= 11 {
		t.Fatalf("SteadyServers with a 50 ms objective = %d, want more than 11", got)
	}
	if got := SteadyServers(1e6, 1, 10, 0.99, 0.95, 50); got != 50 {
		t.Fatalf("SteadyServers beyond the limit = %d, want 50", got)
	}
}

func TestQueueingValidation(t *testing.T) {
	t.Parallel()
	bad := QueueingConfig{Quantile: 1, RateDeadband: fp(1), MaxUtilization: 2, IdleKeep: fp(-1), DrainFloor: 3, ScaleInWindow: dp(-time.Second)}
	err := bad.Validate()
	for _, f := range []string{"acceptableWait", "quantile", "rateDeadband", "maxUtilization", "idleKeep", "drainFloor", "scaleInWindow"} {
		if err == nil || !strings.Contains(err.Error(), f+":") {
			t.Errorf("no error for %s in %v", f, err)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("%v is not a FieldError", err)
	}
	if _, err := NewQueueing("q", QueueingConfig{AcceptableWait: Duration(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
}

func newQueueing(t *testing.T, cfg QueueingConfig) *Queueing {
	t.Helper()
	if cfg.AcceptableWait == 0 {
		cfg.AcceptableWait = Duration(10 * time.Second)
	}
	p, err := NewQueueing("q", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A cold start of 100 msg/s with a 30 s start-up: the first tick sizes the
// fleet for the backlog forecast at the workers' ready time; while they start
// the forecast is the same every tick, so nothing more is added.
func TestQueueingNoOvershootWhileStarting(t *testing.T) {
	t.Parallel()
	p := newQueueing(t, QueueingConfig{})
	var st State
	capacity, asked := 0, 0
	for s := 1; s <= 29; s++ {
		x := Input{Now: t0.Add(time.Duration(s) * time.Second), Capacity: capacity, Starting: capacity, Visible: 100 * s,
			OldestAge: time.Duration(s) * time.Second, ArrivalRate: 100, ProcessingTime: 0, StartupTime: 30 * time.Second}
		prop, next := p.Decide(x, st)
		st = next
		if prop.Desired > capacity {
			if asked > 0 {
				t.Fatalf("second %d: asked %d more after %d were starting (%s: %s)", s, prop.Desired-capacity, capacity, prop.Rule, prop.Reason)
			}
			asked = prop.Desired
			st = st.Record(x.Now, capacity, prop.Desired)
			capacity = prop.Desired
		}
	}
	// 3,100 messages queued at the ready time, a stream of 100 msg/s:
	// keeping pace (100 × 0.1 / 0.95 = 10.5) and catching up what exceeds
	// 10 s of it within 10 s + 30 s ((3100 - 1000) × 0.1 / 40 = 5.25):
	// 16 workers.
	if asked != 16 {
		t.Fatalf("asked for %d workers, want 16", asked)
	}
}

func TestQueueingExplains(t *testing.T) {
	t.Parallel()
	p := newQueueing(t, QueueingConfig{})
	prop, _ := p.Decide(Input{Now: t0, Capacity: 11, Running: 11, ArrivalRate: 100, ProcessingTime: 100 * time.Millisecond, StartupTime: 5 * time.Second}, State{})
	if prop.Desired != 11 || prop.Rule != "on-target" {
		t.Fatalf("steady 100 msg/s on 11 workers: %d (%s: %s)", prop.Desired, prop.Rule, prop.Reason)
	}
	for _, want := range []string{"steady state 11", "100.00 msg/s", "100ms per message (measured)", "start-up 5s (learned)", "target 100"} {
		if !strings.Contains(prop.Reason, want) {
			t.Errorf("reason %q lacks %q", prop.Reason, want)
		}
	}
	if prop.Target != 100 {
		t.Fatalf("target %v, want 100", prop.Target)
	}
}

// TestQueueingStabilisationProperty drives the policy with random inputs
// and checks that it never proposes a scale-in below what it recommended
// within the stabilisation window (the longer of 10 s and the start-up
// time), never proposes a negative capacity, and always explains.
func TestQueueingStabilisationProperty(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	for iter := range 40 {
		p := newQueueing(t, QueueingConfig{AcceptableWait: Duration(time.Duration(1+r.IntN(30)) * time.Second)})
		startup := time.Duration(r.IntN(90)) * time.Second
		window := max(10*time.Second, startup)
		type rec struct {
			at time.Time
			n  int
		}
		var recs []rec
		var st State
		w := &world{}
		now := t0
		visible, rate := 0, 0.0
		for tick := range 600 {
			now = now.Add(time.Duration(1+r.IntN(2)) * time.Second)
			if r.IntN(20) == 0 {
				visible, rate = r.IntN(5000), float64(r.IntN(300))
			}
			x := w.input(now, tick, visible)
			x.ArrivalRate, x.StartupTime = rate, startup
			x.ProcessingTime = time.Duration(50+r.IntN(100)) * time.Millisecond
			prop, next := p.Decide(x, st)
			st = next
			if prop.Desired < 0 || prop.Reason == "" || prop.Rule == "" {
				t.Fatalf("iter %d tick %d: %+v", iter, tick, prop)
			}
			if prop.Desired < x.Capacity {
				for _, rc := range recs {
					if now.Sub(rc.at) < window && rc.n > prop.Desired {
						t.Fatalf("iter %d tick %d: scale-in to %d, but %d was recommended %s ago (window %s): %s",
							iter, tick, prop.Desired, rc.n, now.Sub(rc.at), window, prop.Reason)
					}
				}
			}
			switch prop.Rule {
			case "steady-state", "backlog", "on-target":
				recs = append(recs, rec{now, prop.Desired})
			}
			if prop.Desired != x.Capacity {
				st = st.Record(now, x.Capacity, prop.Desired)
			}
			w.set(prop.Desired, tick, int(startup/time.Second))
		}
	}
}

// The state a Decide call is given is never modified.
func TestQueueingStateIsAValue(t *testing.T) {
	t.Parallel()
	p := newQueueing(t, QueueingConfig{})
	_, st := p.Decide(Input{Now: t0, Capacity: 5, Running: 5, Visible: 900, ArrivalRate: 50}, State{})
	before := append([]Recommendation(nil), st.Queueing.Window...)
	p.Decide(Input{Now: t0.Add(time.Second), Capacity: 5, Running: 5, Visible: 0}, st)
	p.Decide(Input{Now: t0.Add(2 * time.Second), Capacity: 5, Running: 5, Visible: 90000, ArrivalRate: 500}, st)
	if len(before) != len(st.Queueing.Window) || before[0] != st.Queueing.Window[0] {
		t.Fatalf("state changed: %v -> %v", before, st.Queueing.Window)
	}
}

// TestGoldenQueueingDecisions records the queueing policy's proposals, with
// their explanations, through a scripted minute: 100 msg/s from idle with a
// 10 s start-up, then a stop. go test -update rewrites the file.
func TestGoldenQueueingDecisions(t *testing.T) {
	t.Parallel()
	p := newQueueing(t, QueueingConfig{})
	var st State
	w := &world{}
	var b strings.Builder
	visible, oldest := 0, 0.0
	for tick := 1; tick <= 60; tick++ {
		now := t0.Add(time.Duration(tick) * time.Second)
		rate := 100.0
		if tick > 40 {
			rate = 0
		}
		x := w.input(now, tick, visible)
		x.InFlight = min(x.Running, visible)
		// The queue: arrivals in, 10 per running worker out.
		visible = max(0, visible+int(rate)-10*x.Running)
		if visible > 0 {
			oldest++
		} else {
			oldest = 0
		}
		x.Visible, x.OldestAge = visible, time.Duration(oldest*float64(time.Second))
		x.ArrivalRate, x.ProcessingTime = rate, 100*time.Millisecond
		if tick > 10 {
			x.StartupTime = 10 * time.Second
		}
		prop, next := p.Decide(x, st)
		st = next
		if prop.Desired != x.Capacity {
			st = st.Record(now, x.Capacity, prop.Desired)
			w.set(prop.Desired, tick, 10)
		}
		fmt.Fprintf(&b, "t=%2ds visible=%4d capacity=%2d running=%2d -> %2d [%s] %s\n", tick, x.Visible, x.Capacity, x.Running, prop.Desired, prop.Rule, prop.Reason)
	}
	path := "testdata/queueing.golden"
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("decisions differ from %s (run go test -update after checking):\n%s", path, b.String())
	}
}

// A burst of 3,000 messages that arrived at once into an idle fleet is not a
// stream of 3,000 msg/s: the fleet is sized to serve it within the
// acceptable wait once the workers are ready, and no more workers are asked
// for while they start.
func TestQueueingBurstIsNotAStream(t *testing.T) {
	t.Parallel()
	p := newQueueing(t, QueueingConfig{})
	var st State
	capacity := 0
	for s := 0; s <= 29; s++ {
		visible := 0
		if s > 0 {
			visible = 3000
		}
		x := Input{Now: t0.Add(time.Duration(s) * time.Second), Capacity: capacity, Starting: capacity, Visible: visible,
			OldestAge: time.Duration(max(0, s)) * time.Second, ArrivalRate: float64(visible) / 10, ProcessingTime: 100 * time.Millisecond,
			StartupTime: 30 * time.Second}
		prop, next := p.Decide(x, st)
		st = next
		if prop.Desired > capacity {
			if capacity > 0 {
				t.Fatalf("second %d: asked %d more after %d were starting (%s)", s, prop.Desired-capacity, capacity, prop.Reason)
			}
			st = st.Record(x.Now, capacity, prop.Desired)
			capacity = prop.Desired
		}
	}
	// 300 worker-seconds due within 10 s + 30 s - (1 s + 30 s) - 0.5 s.
	if want := 36; capacity != want {
		t.Fatalf("asked for %d workers, want %d", capacity, want)
	}
}

// Ski rental: once nothing waits and arrivals are rarer than one per idle
// keep, idle workers go at once; under a stream the window keeps the
// highest recommendation of the last start-up time.
func TestQueueingIdleRelease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		rate float64
		want int
		rule string
	}{
		{"no arrivals", 0, 0, "idle"},
		{"one message in 5 min", 1.0 / 300, 0, "idle"},
		{"a stream", 50, 10, "scale-in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newQueueing(t, QueueingConfig{})
			var st State
			// Recommend 20 under a backlog, then nothing waits.
			_, st = p.Decide(Input{Now: t0, Capacity: 20, Running: 20, Visible: 2000, InFlight: 20, OldestAge: 8 * time.Second,
				ArrivalRate: tc.rate, ProcessingTime: 100 * time.Millisecond, StartupTime: 30 * time.Second}, st)
			prop, _ := p.Decide(Input{Now: t0.Add(time.Second), Capacity: 20, Running: 20, ArrivalRate: tc.rate,
				ProcessingTime: 100 * time.Millisecond, StartupTime: 30 * time.Second}, st)
			if prop.Rule != tc.rule || (tc.rule == "idle" && prop.Desired != tc.want) || (tc.rule != "idle" && prop.Desired != tc.want) {
				t.Fatalf("got %d (%s: %s), want %d (%s)", prop.Desired, prop.Rule, prop.Reason, tc.want, tc.rule)
			}
		})
	}
}

// A burst that running workers drain before new ones could start keeps
// every running worker the backlog needs now: 1,000 workers of 1 s
// messages, 6,000 messages queued for a minute (all late, so due within
// half the acceptable wait: 1,200 workers would be needed): the forecast
// for a start-up from now is an empty queue, and the proposal is still
// the 1,000 that are serving it, not a scale-in to be undone by a
// scale-out of cold workers. In flight shows 600 messages: a reading
// misses the workers that are between two messages at its instant.
func TestQueueingKeepsTheWorkersTheBacklogNeedsNow(t *testing.T) {
	t.Parallel()
	p := newQueueing(t, QueueingConfig{})
	var st State
	in := Input{Now: t0, Capacity: 1000, Running: 1000, InFlight: 600, Visible: 6000,
		OldestAge: time.Minute, ProcessingTime: time.Second, StartupTime: 30 * time.Second}
	for s := range 5 {
		in.Now = t0.Add(time.Duration(s) * time.Second)
		prop, next := p.Decide(in, st)
		st = next
		if prop.Desired < 1000 {
			t.Fatalf("second %d: %d queued, 1,000 busy: proposed %d (%s: %s)", s, in.Visible, prop.Desired, prop.Rule, prop.Reason)
		}
		in.Visible -= 1000
		in.OldestAge += time.Second
	}
}
