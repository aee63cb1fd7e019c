package autoscale_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// The controller measures the fleet's start-up time (desired raised ->
// worker running), hands it to the policies and shows it in decisions.
func TestControllerLearnsStartupTime(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fleet := memfleet.New(clk, 7*time.Second)
	src := &source{}
	q, err := policy.NewQueueing("q", policy.QueueingConfig{AcceptableWait: policy.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := autoscale.New(autoscale.Options{Source: src, Fleet: fleet, Policies: []policy.Policy{q}, Bounds: policy.Bounds{Max: 10}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	src.set(500)
	d := c.Tick(t.Context())
	if !d.Changed() || d.Observation.StartupTime != 0 {
		t.Fatalf("first tick: %+v", d)
	}
	if !strings.Contains(d.Proposals[0].Reason, "start-up 30s (default)") {
		t.Fatalf("before any start the default is used: %s", d.Proposals[0].Reason)
	}
	for range 7 {
		clk.Advance(time.Second)
		d = c.Tick(t.Context())
	}
	if d.Observation.StartupTime != 7*time.Second {
		t.Fatalf("start-up time %s after the workers became ready, want 7s", d.Observation.StartupTime)
	}
	if !strings.Contains(d.Proposals[0].Reason, "start-up 7s (learned)") {
		t.Fatalf("the policy does not use the learned start-up: %s", d.Proposals[0].Reason)
	}
}
