package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Adjustment types of StepScalingPolicyConfiguration.
const (
	ChangeInCapacity        = "ChangeInCapacity"
	PercentChangeInCapacity = "PercentChangeInCapacity"
	ExactCapacity           = "ExactCapacity"
)

// StepAdjustment is one step: a range of the metric relative to the alarm's
// threshold (nil bound = infinity) and the adjustment applied in it.
type StepAdjustment struct {
	MetricIntervalLowerBound *float64 `json:"MetricIntervalLowerBound,omitempty" yaml:"MetricIntervalLowerBound,omitempty"`
	MetricIntervalUpperBound *float64 `json:"MetricIntervalUpperBound,omitempty" yaml:"MetricIntervalUpperBound,omitempty"`
	ScalingAdjustment        int      `json:"ScalingAdjustment" yaml:"ScalingAdjustment"`
}

// StepScalingConfig is Application Auto Scaling's
// StepScalingPolicyConfiguration, field for field.
type StepScalingConfig struct {
	AdjustmentType         string           `json:"AdjustmentType" yaml:"AdjustmentType"`
	StepAdjustments        []StepAdjustment `json:"StepAdjustments" yaml:"StepAdjustments"`
	MinAdjustmentMagnitude int              `json:"MinAdjustmentMagnitude,omitempty" yaml:"MinAdjustmentMagnitude,omitempty"`
	// Cooldown is seconds. After a scale-out, a further scale-out during the
	// cooldown adds only capacity beyond what the last one added; after a
	// scale-in, further scale-ins wait for it to end.
	Cooldown              int    `json:"Cooldown,omitempty" yaml:"Cooldown,omitempty"`
	MetricAggregationType string `json:"MetricAggregationType,omitempty" yaml:"MetricAggregationType,omitempty"`
}

// Metrics an alarm can watch.
const (
	MetricVisible          = "ApproximateNumberOfMessagesVisible"
	MetricNotVisible       = "ApproximateNumberOfMessagesNotVisible"
	MetricDelayed          = "ApproximateNumberOfMessagesDelayed"
	MetricOldestAge        = "ApproximateAgeOfOldestMessage"
	MetricBacklogPerWorker = "BacklogPerWorker"
)

// Comparison operators of a CloudWatch alarm.
const (
	GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold          = "GreaterThanThreshold"
	LessThanThreshold             = "LessThanThreshold"
	LessThanOrEqualToThreshold    = "LessThanOrEqualToThreshold"
)

// Alarm is the CloudWatch alarm that invokes a step scaling policy in AWS; in
// qscale it is part of the policy.
type Alarm struct {
	// MetricName is one of ApproximateNumberOfMessagesVisible (the
	// default), ApproximateNumberOfMessagesNotVisible,
	// ApproximateNumberOfMessagesDelayed, ApproximateAgeOfOldestMessage
	// (seconds) or BacklogPerWorker.
	MetricName         string  `json:"MetricName,omitempty" yaml:"MetricName,omitempty"`
	Threshold          float64 `json:"Threshold" yaml:"Threshold"`
	ComparisonOperator string  `json:"ComparisonOperator" yaml:"ComparisonOperator"`
	// EvaluationPeriods datapoints are looked at; DatapointsToAlarm of them
	// (default: all) must breach. Default 1.
	EvaluationPeriods int `json:"EvaluationPeriods,omitempty" yaml:"EvaluationPeriods,omitempty"`
	DatapointsToAlarm int `json:"DatapointsToAlarm,omitempty" yaml:"DatapointsToAlarm,omitempty"`
	// Period in seconds of one datapoint; 0 (default) makes every
	// observation a datapoint, 60 is CloudWatch's one-minute metric.
	Period int `json:"Period,omitempty" yaml:"Period,omitempty"`
}

// StepScalingSpec is a step scaling policy: its alarm and its configuration.
type StepScalingSpec struct {
	Alarm         Alarm             `json:"Alarm" yaml:"Alarm"`
	Configuration StepScalingConfig `json:"StepScalingPolicyConfiguration" yaml:"StepScalingPolicyConfiguration"`
}

// ParseStepScaling decodes StepScalingPolicyConfiguration JSON, refusing
// unknown fields. It does not validate the steps against an alarm; NewStepScaling does.
func ParseStepScaling(data []byte) (StepScalingConfig, error) {
	var c StepScalingConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("step scaling configuration: %w", err)
	}
	return c, nil
}

// Validate reports every problem in s, each as a FieldError.
func (s StepScalingSpec) Validate() error {
	var errs Errors
	a := s.Alarm
	switch a.MetricName {
	case "", MetricVisible, MetricNotVisible, MetricDelayed, MetricOldestAge, MetricBacklogPerWorker:
	default:
		errs.add("Alarm.MetricName", "unknown metric %q (want one of %s)", a.MetricName,
			strings.Join([]string{MetricVisible, MetricNotVisible, MetricDelayed, MetricOldestAge, MetricBacklogPerWorker}, ", "))
	}
	switch a.ComparisonOperator {
	case GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold:
	case "":
		errs.add("Alarm.ComparisonOperator", "is required (GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold)")
	default:
		errs.add("Alarm.ComparisonOperator", "unknown operator %q", a.ComparisonOperator)
	}
	if a.EvaluationPeriods < 0 {
		errs.add("Alarm.EvaluationPeriods", "must be 1 or more, got %d", a.EvaluationPeriods)
	}
	if a.DatapointsToAlarm < 0 || a.DatapointsToAlarm > max(1, a.EvaluationPeriods) {
		errs.add("Alarm.DatapointsToAlarm", "must be between 1 and EvaluationPeriods (%d), got %d", max(1, a.EvaluationPeriods), a.DatapointsToAlarm)
	}
	if a.Period < 0 {
		errs.add("Alarm.Period", "must be 0 or more seconds, got %d", a.Period)
	}
	c := s.Configuration
	const cp = "StepScalingPolicyConfiguration."
	switch c.AdjustmentType {
	case ChangeInCapacity, PercentChangeInCapacity, ExactCapacity:
	case "":
		errs.add(cp+"AdjustmentType", "is required (ChangeInCapacity, PercentChangeInCapacity or ExactCapacity)")
	default:
		errs.add(cp+"AdjustmentType", "unknown adjustment type %q", c.AdjustmentType)
	}
	if c.MinAdjustmentMagnitude < 0 {
		errs.add(cp+"MinAdjustmentMagnitude", "must be 0 or more, got %d", c.MinAdjustmentMagnitude)
	}
	if c.MinAdjustmentMagnitude > 0 && c.AdjustmentType != PercentChangeInCapacity {
		errs.add(cp+"MinAdjustmentMagnitude", "applies only to PercentChangeInCapacity")
	}
	if c.Cooldown < 0 {
		errs.add(cp+"Cooldown", "must be 0 or more seconds, got %d", c.Cooldown)
	}
	switch c.MetricAggregationType {
	case "", string(Average), string(Minimum), string(Maximum):
	default:
		errs.add(cp+"MetricAggregationType", "unknown aggregation %q (Average, Minimum or Maximum)", c.MetricAggregationType)
	}
	if len(c.StepAdjustments) == 0 {
		errs.add(cp+"StepAdjustments", "needs at least one step")
	}
	nilLower, nilUpper := 0, 0
	for i, st := range c.StepAdjustments {
		p := fmt.Sprintf("%sStepAdjustments[%d]", cp, i)
		lo, hi := st.MetricIntervalLowerBound, st.MetricIntervalUpperBound
		if lo == nil {
			nilLower++
		}
		if hi == nil {
			nilUpper++
		}
		if lo != nil && hi != nil && *lo >= *hi {
			errs.add(p, "MetricIntervalLowerBound %g must be below MetricIntervalUpperBound %g", *lo, *hi)
		}
		if c.AdjustmentType == ExactCapacity && st.ScalingAdjustment < 0 {
			errs.add(p+".ScalingAdjustment", "ExactCapacity must be 0 or more, got %d", st.ScalingAdjustment)
		}
		for j, o := range c.StepAdjustments[:i] {
			if overlaps(st, o) {
				errs.add(p, "overlaps StepAdjustments[%d]", j)
			}
		}
	}
	if nilLower > 1 {
		errs.add(cp+"StepAdjustments", "only one step may omit MetricIntervalLowerBound")
	}
	if nilUpper > 1 {
		errs.add(cp+"StepAdjustments", "only one step may omit MetricIntervalUpperBound")
	}
	return errs.err()
}

func bounds(s StepAdjustment) (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if s.MetricIntervalLowerBound != nil {
		lo = *s.MetricIntervalLowerBound
	}
	if s.MetricIntervalUpperBound != nil {
		hi = *s.MetricIntervalUpperBound
	}
	return lo, hi
}

func overlaps(a, b StepAdjustment) bool {
	alo, ahi := bounds(a)
	blo, bhi := bounds(b)
	return alo < bhi && blo < ahi
}

// StepScaling is a step scaling policy with Application Auto Scaling's
// semantics. Each observation (or each Alarm.Period) is a datapoint; the alarm
// is in ALARM when DatapointsToAlarm of the last EvaluationPeriods datapoints
// breach the threshold. In ALARM, the step whose bounds (relative to the
// threshold) hold the metric minus the threshold gives the adjustment; above
// the threshold a lower bound is inclusive and an upper bound exclusive, below
// it the reverse.
type StepScaling struct {
	name string
	spec StepScalingSpec
}

// NewStepScaling returns a step scaling policy; spec must be valid.
func NewStepScaling(name string, spec StepScalingSpec) (*StepScaling, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Alarm.MetricName == "" {
		spec.Alarm.MetricName = MetricVisible
	}
	spec.Alarm.EvaluationPeriods = max(1, spec.Alarm.EvaluationPeriods)
	if spec.Alarm.DatapointsToAlarm == 0 {
		spec.Alarm.DatapointsToAlarm = spec.Alarm.EvaluationPeriods
	}
	return &StepScaling{name: name, spec: spec}, nil
}

// Name implements Policy.
func (p *StepScaling) Name() string { return p.name }

// Spec returns the policy's alarm and configuration.
func (p *StepScaling) Spec() StepScalingSpec { return p.spec }

// MetricValue returns the value of the named alarm metric in in.
func MetricValue(name string, in Input) float64 {
	switch name {
	case MetricNotVisible:
		return float64(in.InFlight)
	case MetricDelayed:
		return float64(in.Delayed)
	case MetricOldestAge:
		return in.OldestAge.Seconds()
	case MetricBacklogPerWorker:
		return in.BacklogPerWorker()
	}
	return float64(in.Visible)
}

func (a Alarm) breaches(v float64) bool {
	switch a.ComparisonOperator {
	case GreaterThanOrEqualToThreshold:
		return v >= a.Threshold
	case GreaterThanThreshold:
		return v > a.Threshold
	case LessThanThreshold:
		return v < a.Threshold
	default:
		return v <= a.Threshold
	}
}

// Decide implements Policy.
func (p *StepScaling) Decide(in Input, st State) (Proposal, State) {
	a, c := p.spec.Alarm, p.spec.Configuration
	v := MetricValue(a.MetricName, in)
	st, done := st.sample(in.Now, v, time.Duration(a.Period)*time.Second, Aggregation(c.MetricAggregationType), a.EvaluationPeriods)
	if !done {
		pr := hold(p.name, in, "collecting", "collecting the %ds metric period", a.Period)
		pr.Abstain = true
		return pr, st
	}
	v = st.Datapoints[len(st.Datapoints)-1]
	pr := func(desired int, rule, format string, args ...any) (Proposal, State) {
		// Only a change, or a scale-out its cooldown blocks, takes part.
		abstain := desired == in.Capacity && rule != "scale-out-cooldown"
		return Proposal{Policy: p.name, Desired: desired, Rule: rule, Reason: fmt.Sprintf(format, args...), Metric: v, Target: a.Threshold, Abstain: abstain}, st
	}
	n, _ := st.lastN(a.EvaluationPeriods, a.breaches)
	if n < a.DatapointsToAlarm {
		return pr(in.Capacity, "alarm-ok", "%s %g: %d of the last %d datapoints breach %s %g (%d needed)",
			a.MetricName, v, n, a.EvaluationPeriods, a.ComparisonOperator, a.Threshold, a.DatapointsToAlarm)
	}
	diff := v - a.Threshold
	// Above the threshold a step's lower bound is inclusive and its upper
	// bound exclusive; below it, the reverse. At the threshold itself an
	// alarm that fires on "less than or equal" is below it.
	below := diff < 0 || diff == 0 && strings.HasPrefix(a.ComparisonOperator, "Less")
	idx := -1
	for i, s := range c.StepAdjustments {
		lo, hi := bounds(s)
		if !below && lo <= diff && diff < hi || below && lo < diff && diff <= hi {
			idx = i
			break
		}
	}
	if idx < 0 {
		return pr(in.Capacity, "no-step", "alarm %s %g: no step covers metric - threshold = %g", a.MetricName, v, diff)
	}
	adj := c.StepAdjustments[idx].ScalingAdjustment
	cur := in.Capacity
	cool := time.Duration(c.Cooldown) * time.Second
	base := cur
	inOutCooldown := !st.LastOut.At.IsZero() && in.Now.Before(st.LastOut.At.Add(cool))
	if inOutCooldown && (adj > 0 || c.AdjustmentType == ExactCapacity) {
		// The capacity the last scale-out added counts toward this one.
		base = st.LastOut.From
	}
	want := p.apply(base, adj)
	rule := fmt.Sprintf("step[%d]", idx)
	why := fmt.Sprintf("alarm %s %g %s %g; step[%d] (metric - threshold = %g) %s %+d", a.MetricName, v, a.ComparisonOperator, a.Threshold, idx, diff, c.AdjustmentType, adj)
	if c.AdjustmentType == ExactCapacity {
		why = fmt.Sprintf("alarm %s %g %s %g; step[%d] (metric - threshold = %g) ExactCapacity %d", a.MetricName, v, a.ComparisonOperator, a.Threshold, idx, diff, adj)
	}
	switch {
	case want > base && inOutCooldown && want <= max(cur, st.LastOut.To):
		return pr(cur, "scale-out-cooldown", "%s: %d from %d, but the scale-out to %d cools down until %s and only capacity beyond it is added",
			why, want, base, st.LastOut.To, st.LastOut.At.Add(cool).Format(time.TimeOnly))
	case want > cur:
		if inOutCooldown && want <= st.LastOut.To {
			return pr(cur, "scale-out-cooldown", "%s: %d from %d, but the scale-out to %d cools down until %s and only capacity beyond it is added",
				why, want, base, st.LastOut.To, st.LastOut.At.Add(cool).Format(time.TimeOnly))
		}
		if base != cur {
			return pr(want, rule, "%s: %d from the capacity %d before the scale-out in cooldown", why, want, base)
		}
		return pr(want, rule, "%s: %d -> %d", why, cur, want)
	case want < cur:
		if li := st.LastIn; !li.At.IsZero() && in.Now.Before(li.At.Add(cool)) {
			return pr(cur, "scale-in-cooldown", "%s: would scale in to %d, but the scale-in at %s cools down until %s",
				why, want, li.At.Format(time.TimeOnly), li.At.Add(cool).Format(time.TimeOnly))
		}
		return pr(want, rule, "%s: %d -> %d", why, cur, want)
	}
	return pr(cur, rule, "%s: capacity stays %d", why, cur)
}

// apply computes the capacity after adjusting capacity c by adj, with AWS's
// rounding of percentages: a change between -1 and 1 becomes -1 or 1, larger
// ones round toward zero, and MinAdjustmentMagnitude is the least change.
func (p *StepScaling) apply(c, adj int) int {
	cfg := p.spec.Configuration
	switch cfg.AdjustmentType {
	case ExactCapacity:
		return max(0, adj)
	case PercentChangeInCapacity:
		ch := float64(c) * float64(adj) / 100
		var d int
		switch {
		case ch > 0 && ch < 1:
			d = 1
		case ch < 0 && ch > -1:
			d = -1
		default:
			d = int(ch) // toward zero
		}
		if m := cfg.MinAdjustmentMagnitude; m > 0 {
			if d > 0 && d < m {
				d = m
			}
			if d < 0 && -d < m {
				d = -m
			}
		}
		return max(0, c+d)
	}
	return max(0, c+adj)
}
