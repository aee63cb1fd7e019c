package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// TargetTrackingConfig is Application Auto Scaling's
// TargetTrackingScalingPolicyConfiguration, field for field, plus a few
// optional qscale fields. The JSON that `aws application-autoscaling
// put-scaling-policy --target-tracking-scaling-policy-configuration` takes
// loads as it is (ParseTargetTracking). Whatever metric specification it
// names, qscale tracks backlog per worker (visible messages / running
// workers): that is the metric AWS's SQS guide tells users to publish.
type TargetTrackingConfig struct {
	// TargetValue is the backlog per worker to keep, e.g. 100.
	TargetValue float64 `json:"TargetValue" yaml:"TargetValue"`
	// PredefinedMetricSpecification and CustomizedMetricSpecification are
	// accepted and kept (for CloudWatch publishing); qscale reads the queue
	// itself.
	PredefinedMetricSpecification map[string]any `json:"PredefinedMetricSpecification,omitempty" yaml:"PredefinedMetricSpecification,omitempty"`
	CustomizedMetricSpecification map[string]any `json:"CustomizedMetricSpecification,omitempty" yaml:"CustomizedMetricSpecification,omitempty"`
	// ScaleOutCooldown and ScaleInCooldown are seconds; AWS's default of 300
	// applies to each when it is omitted.
	ScaleOutCooldown *int `json:"ScaleOutCooldown,omitempty" yaml:"ScaleOutCooldown,omitempty"`
	ScaleInCooldown  *int `json:"ScaleInCooldown,omitempty" yaml:"ScaleInCooldown,omitempty"`
	// DisableScaleIn stops this policy from ever proposing a scale-in.
	DisableScaleIn bool `json:"DisableScaleIn,omitempty" yaml:"DisableScaleIn,omitempty"`

	// qscale fields.

	// ScaleInTolerance is the fraction below the target the metric must fall
	// before a scale-in, and the headroom the scale-in keeps: scale in to
	// ceil(running × metric / (target × (1 - tolerance))). Default 0.1.
	ScaleInTolerance *float64 `json:"ScaleInTolerance,omitempty" yaml:"ScaleInTolerance,omitempty"`
	// MetricPeriod (seconds) aggregates the metric into period averages
	// before it is compared, as CloudWatch does (60 for AWS's one-minute
	// metrics). 0, the default, uses every observation.
	MetricPeriod int `json:"MetricPeriod,omitempty" yaml:"MetricPeriod,omitempty"`
	// ScaleOutDatapoints and ScaleInDatapoints are how many consecutive
	// datapoints must be above (below) the target before scaling out (in).
	// Default 1; AWS's target tracking alarms use 3 and 15 one-minute
	// datapoints.
	ScaleOutDatapoints int `json:"ScaleOutDatapoints,omitempty" yaml:"ScaleOutDatapoints,omitempty"`
	ScaleInDatapoints  int `json:"ScaleInDatapoints,omitempty" yaml:"ScaleInDatapoints,omitempty"`
}

// AWSDefaultCooldown is Application Auto Scaling's default cooldown, used when
// a target tracking configuration omits one.
const AWSDefaultCooldown = 300

// ParseTargetTracking decodes TargetTrackingScalingPolicyConfiguration JSON,
// refusing unknown fields, and validates it.
func ParseTargetTracking(data []byte) (TargetTrackingConfig, error) {
	var c TargetTrackingConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("target tracking configuration: %w", err)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Validate reports every problem in c, each as a FieldError.
func (c TargetTrackingConfig) Validate() error {
	var errs Errors
	if !(c.TargetValue > 0) {
		errs.add("TargetValue", "must be greater than 0, got %v", c.TargetValue)
	}
	if c.ScaleOutCooldown != nil && *c.ScaleOutCooldown < 0 {
		errs.add("ScaleOutCooldown", "must be 0 or more seconds, got %d", *c.ScaleOutCooldown)
	}
	if c.ScaleInCooldown != nil && *c.ScaleInCooldown < 0 {
		errs.add("ScaleInCooldown", "must be 0 or more seconds, got %d", *c.ScaleInCooldown)
	}
	if c.ScaleInTolerance != nil && (*c.ScaleInTolerance < 0 || *c.ScaleInTolerance >= 1) {
		errs.add("ScaleInTolerance", "must be in [0, 1), got %v", *c.ScaleInTolerance)
	}
	if c.MetricPeriod < 0 {
		errs.add("MetricPeriod", "must be 0 or more seconds, got %d", c.MetricPeriod)
	}
	if c.ScaleOutDatapoints < 0 {
		errs.add("ScaleOutDatapoints", "must be 1 or more, got %d", c.ScaleOutDatapoints)
	}
	if c.ScaleInDatapoints < 0 {
		errs.add("ScaleInDatapoints", "must be 1 or more, got %d", c.ScaleInDatapoints)
	}
	return errs.err()
}

// tracking is the arithmetic shared by target tracking and the latency
// objective.
type tracking struct {
	outCooldown, inCooldown time.Duration
	tolerance               float64
	period                  time.Duration
	outDatapoints           int
	inDatapoints            int
	disableScaleIn          bool
	// inStable is how long the metric must stay below the scale-in
	// threshold before a scale-in.
	inStable time.Duration
}

func (c TargetTrackingConfig) tracking() tracking {
	t := tracking{
		outCooldown:    AWSDefaultCooldown * time.Second,
		inCooldown:     AWSDefaultCooldown * time.Second,
		tolerance:      0.1,
		period:         time.Duration(c.MetricPeriod) * time.Second,
		outDatapoints:  max(1, c.ScaleOutDatapoints),
		inDatapoints:   max(1, c.ScaleInDatapoints),
		disableScaleIn: c.DisableScaleIn,
	}
	if c.ScaleOutCooldown != nil {
		t.outCooldown = time.Duration(*c.ScaleOutCooldown) * time.Second
	}
	if c.ScaleInCooldown != nil {
		t.inCooldown = time.Duration(*c.ScaleInCooldown) * time.Second
	}
	if c.ScaleInTolerance != nil {
		t.tolerance = *c.ScaleInTolerance
	}
	return t
}

// TargetTracking keeps backlog per worker at a target, with Application Auto
// Scaling's semantics:
//   - scale out in proportion: desired = ceil(running × metric / target),
//     compared with the capacity including starting workers;
//   - during a scale-out cooldown, scale out again only for capacity beyond
//     what the last scale-out set;
//   - scale in more conservatively: only below target × (1 - tolerance), to
//     ceil(running × metric / (target × (1 - tolerance))), never during a
//     scale-in cooldown, never with DisableScaleIn;
//   - at capacity 0 it proposes 0 (capacity × metric = 0): target tracking
//     alone never leaves zero; Combine's wake rule does.
type TargetTracking struct {
	name string
	cfg  TargetTrackingConfig
	t    tracking
}

// NewTargetTracking returns a target tracking policy; cfg must be valid.
func NewTargetTracking(name string, cfg TargetTrackingConfig) (*TargetTracking, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &TargetTracking{name: name, cfg: cfg, t: cfg.tracking()}, nil
}

// Name implements Policy.
func (p *TargetTracking) Name() string { return p.name }

// Config returns the policy's configuration.
func (p *TargetTracking) Config() TargetTrackingConfig { return p.cfg }

// Decide implements Policy.
func (p *TargetTracking) Decide(in Input, st State) (Proposal, State) {
	return p.t.decide(p.name, "target-tracking", in, st, p.cfg.TargetValue, 0, nil)
}

// decide is target tracking towards target; floor is a capacity the policy
// never proposes less than (0 for none), explained by why (called only when
// the floor decides).
func (t tracking) decide(name, rule string, in Input, st State, target float64, floor int, why func() string) (Proposal, State) {
	st, done := st.sample(in.Now, in.BacklogPerWorker(), t.period, Average, max(t.outDatapoints, t.inDatapoints))
	if !done {
		p := hold(name, in, "collecting", "collecting the metric period (%s)", secs(t.period))
		p.Metric, p.Target = in.BacklogPerWorker(), target
		return p, st
	}
	m := st.Datapoints[len(st.Datapoints)-1]
	c := in.Capacity
	pr := func(desired int, rule, format string, a ...any) (Proposal, State) {
		return Proposal{Policy: name, Desired: desired, Rule: rule, Reason: fmt.Sprintf(format, a...), Metric: m, Target: target}, st
	}
	if c == 0 {
		return pr(0, "zero-capacity", "capacity is 0 and capacity × metric is 0: target tracking does not scale from zero")
	}
	base := in.metricBase()
	want := ceil(float64(base) * m / target)
	if floor > want {
		want = floor
	}
	if want > c {
		n, enough := st.lastN(t.outDatapoints, func(v float64) bool { return v > target })
		if floor <= c && (!enough || n < t.outDatapoints) {
			return pr(c, "collecting", "backlog per worker %.2f above target %.4g in %d of the %d datapoints needed to scale out", m, target, n, t.outDatapoints)
		}
		if lo := st.LastOut; !lo.At.IsZero() && in.Now.Before(lo.At.Add(t.outCooldown)) && want <= lo.To {
			return pr(c, "scale-out-cooldown", "wants %d, but the scale-out to %d at %s cools down until %s and only capacity beyond it is added",
				want, lo.To, lo.At.Format(time.TimeOnly), lo.At.Add(t.outCooldown).Format(time.TimeOnly))
		}
		if floor == want && floor > ceil(float64(base)*m/target) {
			return pr(want, rule, "%s: %d workers needed (backlog per worker %.2f, target %.4g)", why(), want, m, target)
		}
		return pr(want, rule, "backlog per worker %.2f > target %.4g: ceil(%d × %.2f / %.4g) = %d", m, target, base, m, target, want)
	}
	low := target * (1 - t.tolerance)
	if m >= low {
		st.BelowSince = time.Time{}
	} else if st.BelowSince.IsZero() {
		st.BelowSince = in.Now
	}
	if m > target {
		return pr(c, "starting-capacity", "backlog per worker %.2f > target %.4g needs %d workers; capacity %d (%d starting) covers it", m, target, want, c, in.Starting)
	}
	if m >= low {
		return pr(c, "tolerance", "backlog per worker %.2f within tolerance of target %.4g (scale-in below %.4g)", m, target, low)
	}
	wantIn := max(ceil(float64(base)*m/low), floor)
	if wantIn >= c {
		if floor >= c && floor > 0 {
			return pr(c, "floor", "%s: keeping %d workers", why(), floor)
		}
		return pr(c, "tolerance", "backlog per worker %.2f < %.4g but ceil(%d × %.2f / %.4g) = %d does not remove a worker", m, low, base, m, low, wantIn)
	}
	if t.disableScaleIn {
		return pr(c, "disable-scale-in", "backlog per worker %.2f < %.4g would scale in to %d, but scale-in is disabled", m, low, wantIn)
	}
	n, enough := st.lastN(t.inDatapoints, func(v float64) bool { return v < low })
	if !enough || n < t.inDatapoints {
		return pr(c, "collecting", "backlog per worker below %.4g in %d of the %d datapoints needed to scale in", low, n, t.inDatapoints)
	}
	if li := st.LastIn; !li.At.IsZero() && in.Now.Before(li.At.Add(t.inCooldown)) {
		return pr(c, "scale-in-cooldown", "would scale in to %d, but the scale-in at %s cools down until %s",
			wantIn, li.At.Format(time.TimeOnly), li.At.Add(t.inCooldown).Format(time.TimeOnly))
	}
	if below := in.Now.Sub(st.BelowSince); below < t.inStable {
		return pr(c, "stabilizing", "would scale in to %d, but backlog per worker has been below %.4g for %s of the %s required",
			wantIn, low, secs(below), secs(t.inStable))
	}
	if wantIn == floor && floor > 0 {
		return pr(wantIn, rule, "backlog per worker %.2f < %.4g; %s keeps %d", m, low, why(), floor)
	}
	return pr(wantIn, rule, "backlog per worker %.2f < %.4g: ceil(%d × %.2f / %.4g) = %d", m, low, base, m, low, wantIn)
}
