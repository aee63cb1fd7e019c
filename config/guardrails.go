package config

import (
	"math"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
)

// Guardrails bound what the autoscaler does with a fleet, whatever its
// policies decide (docs/autoscaling.md, "Guardrails"). `qscale autoscale`
// re-reads them on SIGHUP.
type Guardrails struct {
	// ScaleOut and ScaleIn cap the workers added or removed within any
	// period.
	ScaleOut *RateLimit `yaml:"scaleOut"`
	ScaleIn  *RateLimit `yaml:"scaleIn"`
	// Fallback sizes the fleet when the queue cannot be read.
	Fallback *Fallback `yaml:"fallback"`
}

// RateLimit is at most MaxChange workers or MaxPercent of the capacity at
// the period's start, whichever allows more, per Period.
type RateLimit struct {
	MaxChange  int             `yaml:"maxChange"`
	MaxPercent float64         `yaml:"maxPercent"`
	Period     policy.Duration `yaml:"period"`
}

// Fallback sets the fleet to Capacity after Failures failed observations
// of the queue in a row.
type Fallback struct {
	Failures int  `yaml:"failures"`
	Capacity *int `yaml:"capacity"`
}

func (g Guardrails) withDefaults() *Guardrails {
	if g.ScaleOut != nil {
		r := *g.ScaleOut
		setDuration(&r.Period, DefaultGuardrailPeriod)
		g.ScaleOut = &r
	}
	if g.ScaleIn != nil {
		r := *g.ScaleIn
		setDuration(&r.Period, DefaultGuardrailPeriod)
		g.ScaleIn = &r
	}
	if g.Fallback != nil {
		fb := *g.Fallback
		if fb.Failures == 0 {
			fb.Failures = DefaultFallbackFailures
		}
		g.Fallback = &fb
	}
	return &g
}

// validate checks g against the fleet's bounds; paths are relative to the
// guardrails section.
func (g *Guardrails) validate(b policy.Bounds) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range []struct {
		name string
		l    *RateLimit
	}{{"scaleOut", g.ScaleOut}, {"scaleIn", g.ScaleIn}} {
		if r.l == nil {
			continue
		}
		switch {
		case r.l.MaxChange < 0:
			add(fe(r.name+".maxChange", "must be 1 or more, got %d", r.l.MaxChange))
		case r.l.MaxPercent < 0 || math.IsNaN(r.l.MaxPercent) || math.IsInf(r.l.MaxPercent, 0):
			add(fe(r.name+".maxPercent", "must be above 0, got %g", r.l.MaxPercent))
		case r.l.MaxChange == 0 && r.l.MaxPercent == 0:
			add(fe(r.name, "give maxChange (workers) or maxPercent (of the capacity), or both"))
		}
		if r.l.Period.D() < time.Second {
			add(fe(r.name+".period", "must be at least 1s, got %s", r.l.Period))
		}
	}
	if fb := g.Fallback; fb != nil {
		if fb.Failures < 1 {
			add(fe("fallback.failures", "must be 1 or more, got %d", fb.Failures))
		}
		switch {
		case fb.Capacity == nil:
			add(fe("fallback.capacity", "is required: the number of workers to run while the queue cannot be read"))
		case *fb.Capacity < b.Min || *fb.Capacity > b.Max:
			add(fe("fallback.capacity", "%d is outside minCapacity..maxCapacity (%d..%d)", *fb.Capacity, b.Min, b.Max))
		}
	}
	return joinRelative(errs)
}

// AutoscaleGuardrails returns the fleet's guardrails for the controller;
// the zero value (nothing limited) without a guardrails section.
func (f *Fleet) AutoscaleGuardrails() autoscale.Guardrails {
	var out autoscale.Guardrails
	g := f.Guardrails
	if g == nil {
		return out
	}
	if r := g.ScaleOut; r != nil {
		out.ScaleOut = autoscale.RateLimit{MaxChange: r.MaxChange, MaxPercent: r.MaxPercent, Period: r.Period.D()}
	}
	if r := g.ScaleIn; r != nil {
		out.ScaleIn = autoscale.RateLimit{MaxChange: r.MaxChange, MaxPercent: r.MaxPercent, Period: r.Period.D()}
	}
	if fb := g.Fallback; fb != nil && fb.Capacity != nil {
		out.Fallback = autoscale.Fallback{Failures: fb.Failures, Capacity: *fb.Capacity}
	}
	return out
}
