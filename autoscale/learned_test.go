package autoscale_test

import (
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
)

// A controller seeded with what an earlier one learned sizes its first
// burst with it: the queueing policy sees the remembered processing and
// start-up times before any worker has run, the first measurement then
// replaces the processing time, and Learned reads back what is current.
func TestLearnedSeedsAndReadsBack(t *testing.T) {
	t.Parallel()
	q, err := policy.NewQueueing("queueing", policy.QueueingConfig{AcceptableWait: policy.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	seed := autoscale.Learned{ProcessingTime: 10 * time.Millisecond, StartupTime: 5 * time.Second}
	size := func(learned autoscale.Learned) autoscale.Decision {
		c, fx := setup(t, 0, func(o *autoscale.Options) {
			o.Policies = []policy.Policy{q}
			o.Learned = learned
		})
		fx.src.set(10000)
		return c.Tick(t.Context())
	}
	// 10,000 messages from an idle fleet. Unseeded: 100 ms a message
	// (the default) and a 30 s start-up; seeded: 10 ms and 5 s.
	cold, warm := size(autoscale.Learned{}), size(seed)
	if warm.Observation.Queue.ProcessingTime != seed.ProcessingTime || warm.Observation.StartupTime != seed.StartupTime {
		t.Fatalf("seeded observation: processing %s, start-up %s; want %s, %s",
			warm.Observation.Queue.ProcessingTime, warm.Observation.StartupTime, seed.ProcessingTime, seed.StartupTime)
	}
	if cold.Observation.Queue.ProcessingTime != 0 || cold.To <= warm.To {
		t.Fatalf("unseeded: processing %s, %d workers; seeded: %d workers (want fewer for 10 ms messages)",
			cold.Observation.Queue.ProcessingTime, cold.To, warm.To)
	}

	c, fx := setup(t, 0, func(o *autoscale.Options) { o.Learned = seed })
	if got := c.Learned(); got != seed {
		t.Fatalf("Learned before a tick = %+v, want the seed %+v", got, seed)
	}
	fx.src.s.ProcessingTime = 40 * time.Millisecond
	c.Tick(t.Context())
	if got := c.Learned(); got.ProcessingTime != 40*time.Millisecond || got.StartupTime != seed.StartupTime {
		t.Fatalf("Learned after a measurement = %+v, want 40ms and the seeded start-up", got)
	}
	fx.src.s.ProcessingTime = 0
	if d := c.Tick(t.Context()); d.Observation.Queue.ProcessingTime != 0 {
		t.Fatalf("a tick without a measurement after one was made got %s, want nothing (the policy keeps its own average)", d.Observation.Queue.ProcessingTime)
	}
	if got := c.Learned(); got.ProcessingTime != 40*time.Millisecond {
		t.Fatalf("Learned forgot the measurement: %+v", got)
	}

	if _, err := autoscale.New(autoscale.Options{Source: fx.src, Fleet: fx.fleet, Policies: []policy.Policy{q},
		Bounds: policy.Bounds{Max: 1}, Learned: autoscale.Learned{StartupTime: -time.Second}}); err == nil {
		t.Fatal("a negative learned start-up was accepted")
	}
}
