package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Duration is a time.Duration that configuration files write as a Go
// duration string ("10s", "1m30s") or as a number of seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "10s" or "10" (seconds).
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("duration %q is not a number of seconds", s)
		}
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a Go duration such as 10s or a number of seconds", s)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON reads a JSON string or number.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return d.UnmarshalText([]byte(s))
	}
	return d.UnmarshalText(b)
}

// LatencyConfig configures the latency objective.
type LatencyConfig struct {
	// AcceptableWait is the longest a message should wait in the queue,
	// e.g. 10s. The target backlog per worker is AcceptableWait divided by
	// the processing time per message.
	AcceptableWait Duration `json:"acceptableWait" yaml:"acceptableWait"`
	// DefaultProcessingTime is used until a processing time is measured.
	// Default: AcceptableWait / 100, so the first target is 100 (AWS's
	// example).
	DefaultProcessingTime Duration `json:"defaultProcessingTime,omitempty" yaml:"defaultProcessingTime,omitempty"`
	// Smoothing is the weight (0 < w <= 1) of each new processing-time
	// measurement in the running average. Default 0.3.
	Smoothing float64 `json:"smoothing,omitempty" yaml:"smoothing,omitempty"`
	// ScaleOutCooldown and ScaleInCooldown as in target tracking. Defaults
	// 0s and 60s: a scale-out during a cooldown still adds only capacity
	// beyond the last scale-out.
	ScaleOutCooldown *Duration `json:"scaleOutCooldown,omitempty" yaml:"scaleOutCooldown,omitempty"`
	ScaleInCooldown  *Duration `json:"scaleInCooldown,omitempty" yaml:"scaleInCooldown,omitempty"`
	// ScaleInStable is how long the backlog must stay below the scale-in
	// threshold before a scale-in, so a passing lull does not remove
	// workers. Default 30s.
	ScaleInStable *Duration `json:"scaleInStable,omitempty" yaml:"scaleInStable,omitempty"`
	// ScaleInTolerance as in target tracking. Default 0.1.
	ScaleInTolerance *float64 `json:"scaleInTolerance,omitempty" yaml:"scaleInTolerance,omitempty"`
	// KeepPace, on by default, never proposes fewer workers than the arrival
	// rate needs (rate × processing time / 0.9) when the rate is known.
	KeepPace *bool `json:"keepPace,omitempty" yaml:"keepPace,omitempty"`
	// DisableScaleIn as in target tracking.
	DisableScaleIn bool `json:"disableScaleIn,omitempty" yaml:"disableScaleIn,omitempty"`
}

// Validate reports every problem in c, each as a FieldError.
func (c LatencyConfig) Validate() error {
	var errs Errors
	if c.AcceptableWait <= 0 {
		errs.add("acceptableWait", "must be a positive duration such as 10s, got %s", c.AcceptableWait)
	}
	if c.DefaultProcessingTime < 0 {
		errs.add("defaultProcessingTime", "must be positive, got %s", c.DefaultProcessingTime)
	}
	if c.Smoothing < 0 || c.Smoothing > 1 {
		errs.add("smoothing", "must be in (0, 1], got %v", c.Smoothing)
	}
	if c.ScaleOutCooldown != nil && *c.ScaleOutCooldown < 0 {
		errs.add("scaleOutCooldown", "must not be negative, got %s", *c.ScaleOutCooldown)
	}
	if c.ScaleInCooldown != nil && *c.ScaleInCooldown < 0 {
		errs.add("scaleInCooldown", "must not be negative, got %s", *c.ScaleInCooldown)
	}
	if c.ScaleInStable != nil && *c.ScaleInStable < 0 {
		errs.add("scaleInStable", "must not be negative, got %s", *c.ScaleInStable)
	}
	if c.ScaleInTolerance != nil && (*c.ScaleInTolerance < 0 || *c.ScaleInTolerance >= 1) {
		errs.add("scaleInTolerance", "must be in [0, 1), got %v", *c.ScaleInTolerance)
	}
	return errs.err()
}

// Latency is the latency objective: target tracking on backlog per worker
// whose target is AcceptableWait / processing time, with the processing time
// measured as it goes (smoothed), and a floor of the workers the arrival rate
// needs.
type Latency struct {
	name      string
	cfg       LatencyConfig
	t         tracking
	def       float64 // default processing time, seconds
	smoothing float64
	keepPace  bool
	waitText  string // AcceptableWait, formatted once
}

// NewLatency returns a latency objective policy; cfg must be valid.
func NewLatency(name string, cfg LatencyConfig) (*Latency, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Latency{name: name, cfg: cfg, smoothing: cfg.Smoothing, keepPace: cfg.KeepPace == nil || *cfg.KeepPace}
	p.waitText = cfg.AcceptableWait.String()
	p.def = cfg.DefaultProcessingTime.D().Seconds()
	if p.def == 0 {
		p.def = cfg.AcceptableWait.D().Seconds() / 100
	}
	if p.smoothing == 0 {
		p.smoothing = 0.3
	}
	p.t = tracking{inCooldown: 60 * time.Second, tolerance: 0.1, outDatapoints: 1, inDatapoints: 1, disableScaleIn: cfg.DisableScaleIn, inStable: 30 * time.Second}
	if cfg.ScaleInStable != nil {
		p.t.inStable = cfg.ScaleInStable.D()
	}
	if cfg.ScaleOutCooldown != nil {
		p.t.outCooldown = cfg.ScaleOutCooldown.D()
	}
	if cfg.ScaleInCooldown != nil {
		p.t.inCooldown = cfg.ScaleInCooldown.D()
	}
	if cfg.ScaleInTolerance != nil {
		p.t.tolerance = *cfg.ScaleInTolerance
	}
	return p, nil
}

// Name implements Policy.
func (p *Latency) Name() string { return p.name }

// Target returns the backlog per worker the policy aims at with state st.
func (p *Latency) Target(st State) float64 {
	pt := st.ProcessingTime
	if pt == 0 {
		pt = p.def
	}
	return p.cfg.AcceptableWait.D().Seconds() / pt
}

// Decide implements Policy.
func (p *Latency) Decide(in Input, st State) (Proposal, State) {
	if m := in.ProcessingTime.Seconds(); m > 0 {
		if st.ProcessingTime == 0 {
			st.ProcessingTime = m
		} else {
			st.ProcessingTime += p.smoothing * (m - st.ProcessingTime)
		}
	}
	pt := st.ProcessingTime
	src := "measured"
	if pt == 0 {
		pt, src = p.def, "default, none measured yet"
	}
	target := p.cfg.AcceptableWait.D().Seconds() / pt
	floor := 0
	var why func() string
	if p.keepPace && in.ArrivalRate > 0 {
		floor = ceil(in.ArrivalRate * pt / 0.9)
		rate := in.ArrivalRate
		why = func() string {
			return fmt.Sprintf("keeping pace with %.1f msg/s at %s per message", rate, secs(time.Duration(pt*float64(time.Second))))
		}
	}
	prop, st := p.t.decide(p.name, "latency", in, st, target, floor, why)
	// The explanation's suffix, built without fmt: this runs every tick.
	b := make([]byte, 0, len(prop.Reason)+64)
	b = append(b, prop.Reason...)
	b = append(b, " [target "...)
	b = append(b, p.waitText...)
	b = append(b, " / "...)
	b = strconv.AppendFloat(b, pt*1000, 'g', 4, 64)
	b = append(b, "ms ("...)
	b = append(b, src...)
	b = append(b, ") = "...)
	b = strconv.AppendFloat(b, target, 'g', 4, 64)
	b = append(b, ']')
	prop.Reason = string(b)
	return prop, st
}
