package policy

import (
	"fmt"
	"math"
	"sort"
)

// ScalingStep is one interval of MetricSteps, with absolute bounds on the
// metric (nil = unbounded) as AWS CDK's scaleOnMetric takes them.
type ScalingStep struct {
	Lower  *float64 `json:"lower,omitempty" yaml:"lower,omitempty"`
	Upper  *float64 `json:"upper,omitempty" yaml:"upper,omitempty"`
	Change int      `json:"change" yaml:"change"`
}

// MetricSteps is the shorthand of AWS CDK's scaleOnMetric: steps with
// absolute bounds, turned into one step scaling policy for the scale-in steps
// (alarm: metric <= the highest upper bound among them) and one for the
// scale-out steps (alarm: metric >= the lowest lower bound among them), with
// bounds made relative to each alarm's threshold, exactly as CDK does.
type MetricSteps struct {
	MetricName             string        `json:"metric,omitempty" yaml:"metric,omitempty"`
	AdjustmentType         string        `json:"adjustmentType" yaml:"adjustmentType"`
	Steps                  []ScalingStep `json:"steps" yaml:"steps"`
	Cooldown               int           `json:"cooldown,omitempty" yaml:"cooldown,omitempty"`
	EvaluationPeriods      int           `json:"evaluationPeriods,omitempty" yaml:"evaluationPeriods,omitempty"`
	DatapointsToAlarm      int           `json:"datapointsToAlarm,omitempty" yaml:"datapointsToAlarm,omitempty"`
	MinAdjustmentMagnitude int           `json:"minAdjustmentMagnitude,omitempty" yaml:"minAdjustmentMagnitude,omitempty"`
	Period                 int           `json:"period,omitempty" yaml:"period,omitempty"`
}

type interval struct {
	lo, hi float64
	change int
}

// Specs returns the step scaling policies m stands for: the scale-in one
// (named "lower") first, if any step removes capacity, then the scale-out one
// ("upper"), if any adds.
func (m MetricSteps) Specs() (names []string, specs []StepScalingSpec, err error) {
	var errs Errors
	if len(m.Steps) < 2 {
		errs.add("steps", "needs at least 2 steps (CDK's rule), got %d", len(m.Steps))
	}
	var ivs []interval
	for i, s := range m.Steps {
		if (s.Lower == nil) == (s.Upper == nil) {
			errs.add(fmt.Sprintf("steps[%d]", i), "give exactly one of lower and upper")
			continue
		}
		iv := interval{lo: math.Inf(-1), hi: math.Inf(1), change: s.Change}
		if s.Lower != nil {
			iv.lo = *s.Lower
		} else {
			iv.hi = *s.Upper
		}
		ivs = append(ivs, iv)
	}
	if len(errs) > 0 {
		return nil, nil, errs.err()
	}
	key := func(iv interval) float64 {
		if math.IsInf(iv.lo, -1) {
			return iv.hi
		}
		return iv.lo
	}
	sort.SliceStable(ivs, func(i, j int) bool { return key(ivs[i]) < key(ivs[j]) })
	// Close each interval at the next one's start (an upper-only interval
	// starts where the previous one ended).
	for i := range ivs {
		if math.IsInf(ivs[i].lo, -1) && i > 0 {
			ivs[i].lo = ivs[i-1].hi
		}
		if math.IsInf(ivs[i].hi, 1) && i+1 < len(ivs) {
			ivs[i].hi = key(ivs[i+1])
		}
	}
	ptr := func(f float64) *float64 {
		if math.IsInf(f, 0) {
			return nil
		}
		return &f
	}
	base := StepScalingSpec{
		Alarm: Alarm{MetricName: m.MetricName, EvaluationPeriods: m.EvaluationPeriods, DatapointsToAlarm: m.DatapointsToAlarm, Period: m.Period},
		Configuration: StepScalingConfig{
			AdjustmentType: m.AdjustmentType, Cooldown: m.Cooldown, MinAdjustmentMagnitude: m.MinAdjustmentMagnitude,
		},
	}
	var lower, upper []interval
	for _, iv := range ivs {
		switch {
		case iv.change < 0:
			lower = append(lower, iv)
		case iv.change > 0:
			upper = append(upper, iv)
		}
	}
	if len(lower) > 0 {
		th := lower[len(lower)-1].hi
		s := base
		s.Alarm.Threshold, s.Alarm.ComparisonOperator = th, LessThanOrEqualToThreshold
		for _, iv := range lower {
			s.Configuration.StepAdjustments = append(s.Configuration.StepAdjustments, StepAdjustment{ptr(iv.lo - th), ptr(iv.hi - th), iv.change})
		}
		names, specs = append(names, "lower"), append(specs, s)
	}
	if len(upper) > 0 {
		th := upper[0].lo
		s := base
		s.Alarm.Threshold, s.Alarm.ComparisonOperator = th, GreaterThanOrEqualToThreshold
		s.Configuration.StepAdjustments = nil
		for _, iv := range upper {
			s.Configuration.StepAdjustments = append(s.Configuration.StepAdjustments, StepAdjustment{ptr(iv.lo - th), ptr(iv.hi - th), iv.change})
		}
		names, specs = append(names, "upper"), append(specs, s)
	}
	for i, s := range specs {
		if err := s.Validate(); err != nil {
			return nil, nil, Prefix(names[i], err)
		}
	}
	return names, specs, nil
}
