package autoscale

import (
	"errors"
	"fmt"

	"github.com/qscale/qscale/autoscale/policy"
)

// Settings are what Reconfigure swaps in a running controller: everything
// that decides, nothing that observes or applies (the source and the fleet
// stay).
type Settings struct {
	Policies   []policy.Policy
	Bounds     policy.Bounds
	Guardrails Guardrails
	Schedule   Schedule
}

// Reconfigure replaces the controller's policies, bounds, guardrails and
// schedule
// between two ticks. A policy whose name is unchanged keeps its state (its
// cooldowns go on); a new one starts afresh. Invalid settings are refused
// and the running ones stay.
func (c *Controller) Reconfigure(s Settings) error {
	switch {
	case len(s.Policies) == 0:
		return errors.New("autoscale: at least one policy is required")
	case s.Bounds.Min < 0 || s.Bounds.Max < s.Bounds.Min || s.Bounds.Max < 1:
		return fmt.Errorf("autoscale: bounds %d..%d: need 0 <= min <= max and max >= 1", s.Bounds.Min, s.Bounds.Max)
	}
	if err := s.Guardrails.Validate(); err != nil {
		return fmt.Errorf("autoscale: guardrails: %w", err)
	}
	if err := s.Schedule.Validate(); err != nil {
		return fmt.Errorf("autoscale: %w", err)
	}
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	c.o.Schedule = s.Schedule
	set := policy.NewSet(s.Bounds, s.Policies...)
	for i, p := range set.Policies {
		for j, old := range c.set.Policies {
			if old.Name() == p.Name() {
				set.States[i] = c.set.States[j]
			}
		}
	}
	c.set = set
	c.g.mu.Lock()
	c.g.cfg = s.Guardrails
	c.g.mu.Unlock()
	return nil
}
