package config

import (
	"fmt"

	"github.com/qscale/qscale/autoscale/policy"
)

// Signal is a measurement a policy reads that not every queue source can
// give.
type Signal string

// SignalOldestAge is the age of the oldest message
// (ApproximateAgeOfOldestMessage).
const SignalOldestAge Signal = policy.MetricOldestAge

// SignalNeed is one policy's need of a signal, with where in the file it
// is.
type SignalNeed struct {
	Signal Signal
	// Path is the policy's place in the file, e.g. fleets[0].policies[1],
	// and Name its name.
	Path, Name string
}

// Needs lists the signals f's policies read that a queue source may not
// give (today: the oldest message's age, read by step alarms on
// ApproximateAgeOfOldestMessage). path is the fleet's place in the file.
func (f *Fleet) Needs(path string) []SignalNeed {
	var out []SignalNeed
	for i, p := range f.Policies {
		metric := ""
		switch {
		case p.StepScaling != nil:
			metric = p.StepScaling.Alarm.MetricName
		case p.ScaleOnMetric != nil:
			metric = p.ScaleOnMetric.MetricName
		}
		if metric == policy.MetricOldestAge {
			out = append(out, SignalNeed{Signal: SignalOldestAge, Path: fmt.Sprintf("%s.policies[%d]", path, i), Name: p.name(i)})
		}
	}
	return out
}

// Unavailable is the error for a policy that needs a signal the fleet's
// queue source cannot give: it names the signal and how to provide it,
// so that no policy runs on a silent zero.
func (n SignalNeed) Unavailable(source string) error {
	switch n.Signal {
	case SignalOldestAge:
		return fmt.Errorf("%s (%s): alarms on %s, which %s does not report (GetQueueAttributes has no such attribute): "+
			"on Amazon SQS read it from CloudWatch with source: {cloudWatchAge: true} in the fleet (needs cloudwatch:GetMetricData, docs/aws.md), "+
			"point the fleet at a qscale server, which reports it (docs/sqs-compatibility.md), or alarm on %s or %s instead",
			n.Path, n.Name, policy.MetricOldestAge, source, policy.MetricVisible, policy.MetricBacklogPerWorker)
	}
	return fmt.Errorf("%s (%s): needs %s, which %s does not report", n.Path, n.Name, n.Signal, source)
}
