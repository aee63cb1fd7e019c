package autoscale_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
)

// noCooldown is target tracking on 100 messages per worker without
// cooldowns, so every tick shows the guardrails alone.
func noCooldown(t *testing.T) policy.Policy {
	t.Helper()
	tt, err := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 100, ScaleOutCooldown: new(0), ScaleInCooldown: new(0)})
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func desired(t *testing.T, fx fixture) int {
	t.Helper()
	s, err := fx.fleet.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s.Desired
}

func TestRateLimitCapsScaleOutPerPeriod(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 2, func(o *autoscale.Options) {
		o.Policies = []policy.Policy{noCooldown(t)}
		o.Guardrails.ScaleOut = autoscale.RateLimit{MaxChange: 2, Period: time.Minute}
	})
	ctx := t.Context()
	fx.src.set(2000) // the policy wants 20
	d := c.Tick(ctx)
	if d.To != 4 || d.Rule != autoscale.RuleRateLimit || !d.Applied || !strings.Contains(d.Reason, "4 instead of 20") {
		t.Fatalf("first period: %+v", d)
	}
	fx.clk.Advance(30 * time.Second)
	if d := c.Tick(ctx); d.To != 4 || d.Rule != autoscale.RuleRateLimit || !strings.Contains(d.Reason, "2 added since") {
		t.Fatalf("same period: %+v", d)
	}
	fx.clk.Advance(31 * time.Second)
	if d := c.Tick(ctx); d.To != 6 || d.Rule != autoscale.RuleRateLimit {
		t.Fatalf("next period: %+v", d)
	}
	if got := desired(t, fx); got != 6 {
		t.Fatalf("fleet desired %d, want 6", got)
	}
}

func TestRateLimitCapsScaleInByPercent(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 20, func(o *autoscale.Options) {
		o.Policies = []policy.Policy{noCooldown(t)}
		o.Guardrails.ScaleIn = autoscale.RateLimit{MaxPercent: 50, Period: time.Minute}
	})
	ctx := t.Context()
	fx.src.set(100) // the policy wants 1
	if d := c.Tick(ctx); d.To != 10 || d.Rule != autoscale.RuleRateLimit {
		t.Fatalf("first period: %+v", d)
	}
	fx.clk.Advance(time.Second)
	if d := c.Tick(ctx); d.To != 10 || d.From != 10 {
		t.Fatalf("same period: %+v", d)
	}
	fx.clk.Advance(time.Minute)
	if d := c.Tick(ctx); d.To != 5 {
		t.Fatalf("next period: %+v", d)
	}
	// Within the limit the policies' own rule decides.
	fx.src.set(300)
	fx.clk.Advance(time.Minute)
	if d := c.Tick(ctx); d.To != 4 || d.Rule == autoscale.RuleRateLimit {
		t.Fatalf("within the limit: %+v", d)
	}
}

// failing is a QueueSource that fails while down is set.
type failing struct {
	source
	mu   sync.Mutex
	down bool
}

func (f *failing) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return autoscale.QueueStats{}, errors.New("queue unreachable")
	}
	return f.source.Observe(ctx)
}

func (f *failing) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func TestFallbackAfterFailuresInARow(t *testing.T) {
	t.Parallel()
	src := &failing{down: true}
	c, fx := setup(t, 1, func(o *autoscale.Options) {
		o.Source = src
		o.Guardrails.Fallback = autoscale.Fallback{Failures: 3, Capacity: 4}
	})
	ctx := t.Context()
	for i := range 2 {
		if d := c.Tick(ctx); d.Rule != "observe-error" || desired(t, fx) != 1 {
			t.Fatalf("failure %d: %+v", i+1, d)
		}
		fx.clk.Advance(time.Second)
	}
	d := c.Tick(ctx)
	if d.Rule != autoscale.RuleFallback || d.From != 1 || d.To != 4 || !d.Applied || d.Error == "" ||
		!strings.Contains(d.Reason, "3 times in a row") {
		t.Fatalf("third failure: %+v", d)
	}
	if got := desired(t, fx); got != 4 {
		t.Fatalf("fleet desired %d, want the fallback 4", got)
	}
	fx.clk.Advance(time.Second)
	if d := c.Tick(ctx); d.Rule != autoscale.RuleFallback || d.To != 4 || !strings.Contains(d.Reason, "holds") {
		t.Fatalf("fourth failure: %+v", d)
	}
	// The queue is back: the policies decide again, and the count of
	// failures starts over.
	src.setDown(false)
	src.set(100)
	fx.clk.Advance(time.Hour)
	if d := c.Tick(ctx); d.Rule == autoscale.RuleFallback || d.Error != "" {
		t.Fatalf("recovered: %+v", d)
	}
	src.setDown(true)
	if d := c.Tick(ctx); d.Rule != "observe-error" {
		t.Fatalf("one failure after recovery: %+v", d)
	}
}

func TestPausedObservesButNeverChanges(t *testing.T) {
	t.Parallel()
	src := &failing{}
	c, fx := setup(t, 10, func(o *autoscale.Options) {
		o.Source = src
		o.Guardrails.Fallback = autoscale.Fallback{Failures: 1, Capacity: 2}
	})
	ctx := t.Context()
	c.Pause("the console")
	if p, by := c.Paused(); !p || by != "the console" {
		t.Fatalf("Paused() = %v, %q", p, by)
	}
	src.set(1500)
	d := c.Tick(ctx)
	if d.Rule != autoscale.RulePaused || d.To != 10 || d.Observation.Queue.Visible != 1500 ||
		!strings.Contains(d.Reason, "paused by the console; the policies wanted 15") {
		t.Fatalf("paused: %+v", d)
	}
	src.setDown(true)
	if d := c.Tick(ctx); d.Rule != autoscale.RuleFallback || d.To != 10 || !strings.Contains(d.Reason, "paused") {
		t.Fatalf("paused fallback: %+v", d)
	}
	if got := desired(t, fx); got != 10 {
		t.Fatalf("paused fleet changed to %d", got)
	}
	c.Resume()
	src.setDown(false)
	if d := c.Tick(ctx); d.To != 15 || !d.Applied {
		t.Fatalf("resumed: %+v", d)
	}
}

func TestReconfigureSwapsBoundsAndGuardrails(t *testing.T) {
	t.Parallel()
	c, fx := setup(t, 10, nil)
	ctx := t.Context()
	if err := c.Reconfigure(autoscale.Settings{Policies: []policy.Policy{noCooldown(t)}, Bounds: policy.Bounds{Min: 5, Max: 3}}); err == nil {
		t.Fatal("bounds 5..3 accepted")
	}
	err := c.Reconfigure(autoscale.Settings{
		Policies: []policy.Policy{noCooldown(t)}, Bounds: policy.Bounds{Min: 1, Max: 12},
		Guardrails: autoscale.Guardrails{ScaleOut: autoscale.RateLimit{MaxChange: 1, Period: time.Minute}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.src.set(1500)
	if d := c.Tick(ctx); d.To != 11 || d.Rule != autoscale.RuleRateLimit {
		t.Fatalf("limited: %+v", d)
	}
	fx.clk.Advance(time.Hour)
	if d := c.Tick(ctx); d.To != 12 {
		t.Fatalf("max 12: %+v", d)
	}
	if g := c.Guardrails(); g.ScaleOut.MaxChange != 1 {
		t.Fatalf("Guardrails() = %+v", g)
	}
}

// annotated is a fleet paused from outside qscale while paused is set.
type annotated struct {
	autoscale.Fleet
	mu     sync.Mutex
	paused bool
}

func (a *annotated) PausedExternally(context.Context) (bool, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.paused, "the deployment is annotated"
}

func TestFleetPausedFromOutside(t *testing.T) {
	t.Parallel()
	var fl *annotated
	c, fx := setup(t, 10, func(o *autoscale.Options) {
		fl = &annotated{Fleet: o.Fleet, paused: true}
		o.Fleet = fl
	})
	fx.src.set(1500)
	if d := c.Tick(t.Context()); d.Rule != autoscale.RulePaused || d.To != 10 || !strings.Contains(d.Reason, "paused: the deployment is annotated") {
		t.Fatalf("annotated: %+v", d)
	}
	fl.mu.Lock()
	fl.paused = false
	fl.mu.Unlock()
	if d := c.Tick(t.Context()); d.To != 15 || !d.Applied {
		t.Fatalf("annotation removed: %+v", d)
	}
}
