package policy_test

import (
	"fmt"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// AWS's SQS scaling guide: 10 instances, 1,500 visible messages, an
// acceptable backlog of 100 per instance: scale out by 5.
func ExampleTargetTracking() {
	cfg, err := policy.ParseTargetTracking([]byte(`{
	  "TargetValue": 100.0,
	  "CustomizedMetricSpecification": {"MetricName": "backlogpertask", "Namespace": "SQS/BACKLOG", "Statistic": "Average", "Unit": "Count"},
	  "ScaleOutCooldown": 60,
	  "ScaleInCooldown": 60
	}`))
	if err != nil {
		panic(err)
	}
	p, _ := policy.NewTargetTracking("backlog100", cfg)
	prop, _ := p.Decide(policy.Input{Now: time.Now(), Capacity: 10, Running: 10, Visible: 1500}, policy.State{})
	fmt.Println(prop.Desired)
	fmt.Println(prop.Reason)
	// Output:
	// 15
	// backlog per worker 150.00 > target 100: ceil(10 × 150.00 / 100) = 15
}

// Seed 001's CDK step policy: +1, +3 or +5 workers by visible messages,
// and -1 when the queue is empty.
func ExampleMetricSteps() {
	lower, upper := 1.0, 5.0
	ten, zero := 10.0, 0.0
	names, specs, err := policy.MetricSteps{
		AdjustmentType: policy.ChangeInCapacity, Cooldown: 60,
		Steps: []policy.ScalingStep{{Upper: &zero, Change: -1}, {Lower: &lower, Change: 1}, {Lower: &upper, Change: 3}, {Lower: &ten, Change: 5}},
	}.Specs()
	if err != nil {
		panic(err)
	}
	for i, s := range specs {
		p, _ := policy.NewStepScaling(names[i], s)
		for _, visible := range []int{0, 3, 7, 40} {
			prop, _ := p.Decide(policy.Input{Now: time.Now(), Capacity: 2, Running: 2, Visible: visible}, policy.State{})
			fmt.Printf("%s alarm %s %g, visible %d: %d workers\n", names[i], s.Alarm.ComparisonOperator, s.Alarm.Threshold, visible, prop.Desired)
		}
	}
	// Output:
	// lower alarm LessThanOrEqualToThreshold 0, visible 0: 1 workers
	// lower alarm LessThanOrEqualToThreshold 0, visible 3: 2 workers
	// lower alarm LessThanOrEqualToThreshold 0, visible 7: 2 workers
	// lower alarm LessThanOrEqualToThreshold 0, visible 40: 2 workers
	// upper alarm GreaterThanOrEqualToThreshold 1, visible 0: 2 workers
	// upper alarm GreaterThanOrEqualToThreshold 1, visible 3: 3 workers
	// upper alarm GreaterThanOrEqualToThreshold 1, visible 7: 5 workers
	// upper alarm GreaterThanOrEqualToThreshold 1, visible 40: 7 workers
}

// Any policy may scale out; scale-in needs all of them; bounds apply last.
func ExampleCombine() {
	in := policy.Input{Capacity: 10, Running: 10, Visible: 500}
	o := policy.Combine(in, []policy.Proposal{
		{Policy: "backlog", Desired: 6, Rule: "target-tracking", Reason: "backlog per worker 50 < 90"},
		{Policy: "slo", Desired: 10, Rule: "scale-in-cooldown", Reason: "the scale-in at 12:00:00 cools down until 12:01:00"},
	}, policy.Bounds{Min: 0, Max: 20})
	fmt.Println(o.Desired, o.Rule)
	fmt.Println(o.Reason)
	// Output:
	// 10 veto
	// scale-in needs every policy: backlog asks 6, but slo holds (scale-in-cooldown: the scale-in at 12:00:00 cools down until 12:01:00)
}

// The latency objective derives its target from the measured processing
// time: 10 s acceptable / 0.1 s per message = 100 messages per worker.
func ExampleLatency() {
	p, _ := policy.NewLatency("slo", policy.LatencyConfig{AcceptableWait: policy.Duration(10 * time.Second)})
	prop, st := p.Decide(policy.Input{Now: time.Now(), Capacity: 10, Running: 10, Visible: 1500, ProcessingTime: 100 * time.Millisecond}, policy.State{})
	fmt.Println(prop.Desired, p.Target(st))
	// Output: 15 100
}

// The queueing policy from idle: 100 msg/s have been arriving for 3 s, the
// fleet starts workers in 30 s. It sizes the fleet for the backlog forecast at
// the workers' ready time: 3 + 30 s of arrivals, each starting within
// (10 s + 30 s) / 2.
func ExampleQueueing() {
	p, err := policy.NewQueueing("wait", policy.QueueingConfig{AcceptableWait: policy.Duration(10 * time.Second)})
	if err != nil {
		panic(err)
	}
	in := policy.Input{
		Now: time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC), Visible: 300, OldestAge: 3 * time.Second,
		ArrivalRate: 100, ProcessingTime: 100 * time.Millisecond, StartupTime: 30 * time.Second,
	}
	prop, _ := p.Decide(in, policy.State{})
	fmt.Println(prop.Desired, prop.Rule)
	// Output: 17 backlog
}
