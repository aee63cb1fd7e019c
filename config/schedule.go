package config

import (
	"fmt"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
)

// ScheduledAction is one entry of a fleet's schedule: a window that recurs
// at each match of Cron (five fields, read in Timezone or in a CRON_TZ=
// prefix, UTC by default) and lasts Duration, or until End matches, during
// which Min and Max replace the fleet's bounds (AWS PutScheduledAction,
// KEDA's cron trigger):
//
//	schedule:
//	  - {name: morning, cron: "0 8 * * 1-5", timezone: Europe/Paris, duration: 90m, min: 5}
//	  - {name: nightly-batch, cron: "55 1 * * *", end: "30 2 * * *", min: 20, max: 80}
type ScheduledAction struct {
	Name     string          `yaml:"name"`
	Cron     string          `yaml:"cron"`
	Timezone string          `yaml:"timezone"`
	Duration policy.Duration `yaml:"duration"`
	End      string          `yaml:"end"`
	Min      *int            `yaml:"min"`
	Max      *int            `yaml:"max"`
}

// BuildSchedule returns the fleet's schedule for the controller, or the
// first problem in it, with its path (schedule[i].field).
func (f *Fleet) BuildSchedule() (autoscale.Schedule, error) {
	var s autoscale.Schedule
	for i, a := range f.Schedule {
		p := fmt.Sprintf("schedule[%d]", i)
		loc := time.UTC
		if a.Timezone != "" {
			l, err := time.LoadLocation(a.Timezone)
			if err != nil {
				return nil, fe(p+".timezone", "%q is not a time zone (e.g. Europe/Paris): %v", a.Timezone, err)
			}
			loc = l
		}
		start, err := autoscale.ParseCron(a.Cron, loc)
		if err != nil {
			return nil, fe(p+".cron", "%v", err)
		}
		sa := autoscale.ScheduledAction{Name: a.Name, Start: start, Duration: a.Duration.D(), Min: a.Min, Max: a.Max}
		if a.End != "" {
			end, err := autoscale.ParseCron(a.End, loc)
			if err != nil {
				return nil, fe(p+".end", "%v", err)
			}
			sa.End = &end
		}
		if err := sa.Validate(); err != nil {
			return nil, fe(p, "%v", err)
		}
		if a.Min != nil && a.Max == nil && *a.Min > f.MaxCapacity {
			return nil, fe(p+".min", "%d is above maxCapacity %d; give max too", *a.Min, f.MaxCapacity)
		}
		s = append(s, sa)
	}
	if err := s.Validate(); err != nil {
		return nil, fe("schedule", "%v", err)
	}
	return s, nil
}

// Predict turns on the predictor (docs/autoscaling.md, "Predictor") for a
// fleet:
//
//	predict: {}                  # the objective of its queueing or latency policy
//	predict: {objective: 10s}
type Predict struct {
	// Objective is the wait the predicted workers serve an episode's
	// first messages within; default the acceptableWait of the fleet's
	// first queueing or latency policy.
	Objective policy.Duration `yaml:"objective"`
}

// BuildPredictor returns the fleet's predictor, nil when predict is not
// set.
func (f *Fleet) BuildPredictor() (*autoscale.Predictor, error) {
	if f.Predict == nil {
		return nil, nil
	}
	obj := f.Predict.Objective
	for _, p := range f.Policies {
		if obj > 0 {
			break
		}
		switch {
		case p.Queueing != nil:
			obj = p.Queueing.AcceptableWait
		case p.Latency != nil:
			obj = p.Latency.AcceptableWait
		}
	}
	if obj <= 0 {
		return nil, fe("predict.objective", "is required when no queueing or latency policy names an acceptableWait (e.g. objective: 10s)")
	}
	p, err := autoscale.NewPredictor(autoscale.PredictorConfig{Objective: obj.D()})
	if err != nil {
		return nil, fe("predict", "%v", err)
	}
	return p, nil
}
