package autoscale

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// Guardrails bound what the controller does, whatever the policies decide.
// The zero value limits nothing.
type Guardrails struct {
	// ScaleOut and ScaleIn limit how many workers one period may add or
	// remove, like the behavior policies of a Kubernetes
	// HorizontalPodAutoscaler.
	ScaleOut RateLimit
	ScaleIn  RateLimit
	// Fallback sizes the fleet when the queue cannot be read, like KEDA's
	// fallback.
	Fallback Fallback
}

// RateLimit caps the change within any window of Period: at most MaxChange
// workers or MaxPercent of the capacity at the window's start, whichever
// allows more (a percentage allows at least one worker). With neither set,
// or no Period, nothing is limited.
type RateLimit struct {
	MaxChange  int           `json:"maxChange,omitempty"`
	MaxPercent float64       `json:"maxPercent,omitempty"`
	Period     time.Duration `json:"period,omitempty"`
}

// Enabled reports whether r limits anything.
func (r RateLimit) Enabled() bool { return r.Period > 0 && (r.MaxChange > 0 || r.MaxPercent > 0) }

// allowed is how many workers may change in a window that began at base.
func (r RateLimit) allowed(base int) int {
	n := r.MaxChange
	if r.MaxPercent > 0 {
		n = max(n, int(math.Ceil(float64(base)*r.MaxPercent/100)), 1)
	}
	return n
}

func (r RateLimit) String() string {
	switch {
	case r.MaxChange > 0 && r.MaxPercent > 0:
		return fmt.Sprintf("%d workers or %g%% per %s", r.MaxChange, r.MaxPercent, r.Period)
	case r.MaxPercent > 0:
		return fmt.Sprintf("%g%% per %s", r.MaxPercent, r.Period)
	}
	return fmt.Sprintf("%d workers per %s", r.MaxChange, r.Period)
}

// Fallback sets the fleet to Capacity once Failures observations of the
// queue in a row have failed, and holds it there until one succeeds.
// Failures 0 turns it off.
type Fallback struct {
	Failures int `json:"failures,omitempty"`
	Capacity int `json:"capacity,omitempty"`
}

// Validate reports a guardrail that cannot work.
func (g Guardrails) Validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		l    RateLimit
	}{{"scaleOut", g.ScaleOut}, {"scaleIn", g.ScaleIn}} {
		if r.l.MaxChange < 0 || r.l.MaxPercent < 0 || r.l.Period < 0 {
			errs = append(errs, fmt.Errorf("%s: negative limit", r.name))
		}
	}
	if g.Fallback.Failures < 0 || g.Fallback.Capacity < 0 {
		errs = append(errs, errors.New("fallback: negative value"))
	}
	return errors.Join(errs...)
}

// Rules the guardrails give a decision (Decision.Rule).
const (
	RulePaused    = "paused"
	RuleRateLimit = "rate-limit"
	RuleFallback  = "fallback"
)

// guards is the controller's guardrail state.
//
// mu guards cfg, paused, pausedBy and lastObserved, which the console reads
// and changes while a tick runs. changes and failures belong to the tick
// (the controller's tickMu).
type guards struct {
	mu           sync.Mutex
	cfg          Guardrails
	paused       bool
	pausedBy     string
	lastObserved time.Time

	changes  []change
	failures int // consecutive failed queue observations
}

// change is one applied change of the desired count.
type change struct {
	at       time.Time
	from, to int
}

// Pause stops the controller from changing the fleet: it goes on observing
// and deciding, and each decision says what it would have done. by names
// who paused it, for the decisions ("the console", "SIGHUP").
func (c *Controller) Pause(by string) {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	c.g.paused, c.g.pausedBy = true, by
}

// Resume undoes Pause.
func (c *Controller) Resume() {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	c.g.paused, c.g.pausedBy = false, ""
}

// Paused reports whether the controller is paused, and by whom.
func (c *Controller) Paused() (bool, string) {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	return c.g.paused, c.g.pausedBy
}

// LastObserved is when the queue and the fleet were last read without an
// error; the zero time before the first success.
func (c *Controller) LastObserved() time.Time {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	return c.g.lastObserved
}

// Interval is the controller's time between ticks.
func (c *Controller) Interval() time.Duration { return c.o.Interval }

// Guardrails returns the guardrails in force.
func (c *Controller) Guardrails() Guardrails {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	return c.g.cfg
}

// pausedNow returns the pause state with a sentence for the decision.
func (c *Controller) pausedNow(ctx context.Context) (bool, string) {
	paused, by := c.Paused()
	if paused {
		return true, "paused by " + by
	}
	if p, ok := c.o.Fleet.(PauseReporter); ok {
		if paused, why := p.PausedExternally(ctx); paused {
			return true, "paused: " + why
		}
	}
	return false, ""
}

// PauseReporter is a fleet that can be paused from outside qscale (the
// Kubernetes fleet's qscale.io/paused annotation). The controller asks it
// every tick.
type PauseReporter interface {
	PausedExternally(ctx context.Context) (paused bool, why string)
}

// observedOK is the tick's hook after the queue and the fleet were read.
func (c *Controller) observedOK(now time.Time) {
	c.g.failures = 0
	c.g.mu.Lock()
	c.g.lastObserved = now
	c.g.mu.Unlock()
}

// guard is the tick's hook between the policies' outcome and its
// application: a pause holds the fleet, a rate limit caps the change. The
// outcome's Rule and Reason say what the guardrail did and what the
// policies wanted.
func (c *Controller) guard(ctx context.Context, now time.Time, o policy.Outcome) policy.Outcome {
	if o.Desired == o.From {
		return o
	}
	if paused, why := c.pausedNow(ctx); paused {
		o.Reason = fmt.Sprintf("%s; the policies wanted %d (%s: %s)", why, o.Desired, o.Rule, o.Reason)
		o.Desired, o.Rule = o.From, RulePaused
		return o
	}
	cfg := c.Guardrails()
	c.pruneChanges(now, max(cfg.ScaleOut.Period, cfg.ScaleIn.Period))
	switch {
	case o.Desired > o.From && cfg.ScaleOut.Enabled():
		added := c.changedSince(now.Add(-cfg.ScaleOut.Period), +1)
		base := o.From - added
		limit := base + cfg.ScaleOut.allowed(base)
		if o.Desired > limit {
			o.Reason = fmt.Sprintf("scale-out limited to %s (%d at the period's start, %d added since): %d instead of %d (%s: %s)",
				cfg.ScaleOut, base, added, max(limit, o.From), o.Desired, o.Rule, o.Reason)
			o.Desired, o.Rule = max(limit, o.From), RuleRateLimit
		}
	case o.Desired < o.From && cfg.ScaleIn.Enabled():
		removed := c.changedSince(now.Add(-cfg.ScaleIn.Period), -1)
		base := o.From + removed
		limit := base - cfg.ScaleIn.allowed(base)
		if o.Desired < limit {
			o.Reason = fmt.Sprintf("scale-in limited to %s (%d at the period's start, %d removed since): %d instead of %d (%s: %s)",
				cfg.ScaleIn, base, removed, min(limit, o.From), o.Desired, o.Rule, o.Reason)
			o.Desired, o.Rule = min(limit, o.From), RuleRateLimit
		}
	}
	return o
}

// applied is the tick's hook after SetDesired changed the fleet.
func (c *Controller) applied(now time.Time, from, to int) {
	if from != to {
		c.g.changes = append(c.g.changes, change{at: now, from: from, to: to})
	}
}

// changedSince sums the workers added (dir +1) or removed (dir -1) by the
// changes after since.
func (c *Controller) changedSince(since time.Time, dir int) int {
	n := 0
	for _, ch := range c.g.changes {
		if ch.at.After(since) && (ch.to-ch.from)*dir > 0 {
			n += (ch.to - ch.from) * dir
		}
	}
	return n
}

func (c *Controller) pruneChanges(now time.Time, keep time.Duration) {
	i := 0
	for i < len(c.g.changes) && !c.g.changes[i].at.After(now.Add(-keep)) {
		i++
	}
	c.g.changes = c.g.changes[i:]
}

// observeFailed is the tick's hook after the queue could not be read: once
// Fallback.Failures reads in a row failed, it sets the fleet to
// Fallback.Capacity (unless paused or a dry run) and says so in d.
func (c *Controller) observeFailed(ctx context.Context, now time.Time, d *Decision) {
	c.g.failures++
	fb := c.Guardrails().Fallback
	if fb.Failures <= 0 || c.g.failures < fb.Failures {
		return
	}
	f, err := c.o.Fleet.State(ctx)
	if err != nil {
		d.Reason = fmt.Sprintf("cannot read the queue %d times in a row, nor the fleet (%v); nothing changes", c.g.failures, err)
		return
	}
	d.Observation.Fleet = f
	d.From, d.To = f.Desired, f.Desired
	d.Rule = RuleFallback
	head := fmt.Sprintf("cannot read the queue %d times in a row (fallback after %d)", c.g.failures, fb.Failures)
	switch paused, why := c.pausedNow(ctx); {
	case f.Desired == fb.Capacity:
		d.Applied = true
		d.Reason = fmt.Sprintf("%s: the fleet holds the fallback size %d", head, fb.Capacity)
	case paused:
		d.Reason = fmt.Sprintf("%s: %s, so the fleet stays at %d instead of the fallback size %d", head, why, f.Desired, fb.Capacity)
	case c.o.DryRun:
		d.To = fb.Capacity
		d.Reason = fmt.Sprintf("dry run, not applied: %s: fallback size %d", head, fb.Capacity)
	default:
		d.To = fb.Capacity
		if err := c.o.Fleet.SetDesired(ctx, fb.Capacity); err != nil {
			d.Error = errors.Join(errors.New(d.Error), fmt.Errorf("SetDesired(%d): %w", fb.Capacity, err)).Error()
			d.Reason = fmt.Sprintf("%s: setting the fallback size %d failed", head, fb.Capacity)
			return
		}
		c.applied(now, f.Desired, fb.Capacity)
		d.Applied = true
		d.Reason = fmt.Sprintf("%s: fleet set to the fallback size %d", head, fb.Capacity)
	}
}
