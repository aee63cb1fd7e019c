package autoscale_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
)

// A burst of 3,000 messages every 10 minutes: after two, the predictor
// expects the third, asks for the workers that serve its first objective a
// start-up before it, and lets go once it came; an episode that does not
// come is counted as missed.
func TestPredictorLearnsPeriodicBursts(t *testing.T) {
	t.Parallel()
	p, err := autoscale.NewPredictor(autoscale.PredictorConfig{Objective: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lead, pt := 30*time.Second, 100*time.Millisecond
	burst := func(at time.Duration) {
		// The source's rate counts the burst over 10 s; the backlog
		// drains in 15 s.
		for s := time.Duration(0); s < 20*time.Second; s += time.Second {
			q := autoscale.QueueStats{}
			if s < 10*time.Second {
				q.ArrivalRate = 300
			}
			if s < 15*time.Second {
				q.Visible = 3000
			}
			p.Observe(t0.Add(at+s), q)
		}
	}
	quiet := func(from, to time.Duration) {
		for s := from; s < to; s += time.Second {
			p.Observe(t0.Add(s), autoscale.QueueStats{})
		}
	}
	burst(10 * time.Minute)
	quiet(10*time.Minute+20*time.Second, 20*time.Minute)
	burst(20 * time.Minute)
	quiet(20*time.Minute+20*time.Second, 29*time.Minute)
	if n, why := p.Floor(t0.Add(29*time.Minute), lead, pt); n != 0 || !strings.Contains(why, "due at 00:30:00") {
		t.Fatalf("a minute early: %d (%s)", n, why)
	}
	at := 30*time.Minute - lead - 2*time.Second
	quiet(29*time.Minute, at)
	n, why := p.Floor(t0.Add(at), lead, pt)
	// 3,000 messages × 0.1 s within 0.95 × 10 s.
	if n != 32 || !strings.Contains(why, "recurs every 10m0s") {
		t.Fatalf("a start-up early: %d (%s)", n, why)
	}
	burst(30 * time.Minute)
	if n, _ := p.Floor(t0.Add(30*time.Minute+19*time.Second), lead, pt); n != 0 {
		t.Fatalf("during the episode: %d", n)
	}
	// The fourth does not come.
	quiet(30*time.Minute+20*time.Second, 40*time.Minute+10*time.Second)
	n, why = p.Floor(t0.Add(40*time.Minute+10*time.Second), lead, pt)
	if n != 0 || !strings.Contains(why, "1 kept, 1 missed") {
		t.Fatalf("after a missed episode: %d (%s)", n, why)
	}
}

// Arrivals at irregular intervals teach no period.
func TestPredictorIgnoresIrregularLoad(t *testing.T) {
	t.Parallel()
	p, err := autoscale.NewPredictor(autoscale.PredictorConfig{Objective: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	starts := []time.Duration{2 * time.Minute, 9 * time.Minute, 12 * time.Minute, 25 * time.Minute}
	for s := time.Duration(0); s < 30*time.Minute; s += time.Second {
		q := autoscale.QueueStats{}
		for _, st := range starts {
			if s >= st && s < st+5*time.Second {
				q.ArrivalRate, q.Visible = 10, 10
			}
		}
		p.Observe(t0.Add(s), q)
		if n, why := p.Floor(t0.Add(s), 30*time.Second, 100*time.Millisecond); n > 0 && s > 10*time.Minute {
			t.Fatalf("at %s: %d (%s)", s, n, why)
		}
	}
}

// A load that follows the time of day, with no episodes to learn: after a
// day, the predictor sizes the fleet a start-up ahead for the rate that
// arrived at that time the day before.
func TestPredictorDailyProfile(t *testing.T) {
	t.Parallel()
	p, err := autoscale.NewPredictor(autoscale.PredictorConfig{Objective: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rate := func(at time.Time) float64 {
		if at.Hour() >= 9 && at.Hour() < 17 {
			return 100 // business hours
		}
		return 5
	}
	for at := t0; at.Before(t0.Add(24*time.Hour + 8*time.Hour + 59*time.Minute)); at = at.Add(10 * time.Second) {
		p.Observe(at, autoscale.QueueStats{ArrivalRate: rate(at)})
	}
	now := t0.Add(24*time.Hour + 8*time.Hour + 59*time.Minute + 30*time.Second)
	n, why := p.Floor(now, 30*time.Second, 100*time.Millisecond)
	if n < 11 || !strings.Contains(why, "yesterday at 09:00") {
		t.Fatalf("before 09:00 on the second day: %d (%s)", n, why)
	}
}
