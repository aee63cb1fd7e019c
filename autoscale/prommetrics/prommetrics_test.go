package prommetrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/autoscale/prommetrics"
)

func TestCollectorExportsTheLastDecision(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	var last []autoscale.Decision
	paused := true
	c := prommetrics.New(reg, prommetrics.Options{QueueMessages: true})
	c.Add(prommetrics.Fleet{
		Name: "fast", Queue: "jobs",
		Last:   prommetrics.LastOf(func(n int) []autoscale.Decision { return last }),
		Paused: func() bool { return paused },
	})
	// A second fleet, never decided: only its own series, and none of its
	// gauges before its first decision.
	c.Add(prommetrics.Fleet{Name: "slow", Queue: "a+b", Last: func() (autoscale.Decision, bool) { return autoscale.Decision{}, false }})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP qscale_autoscale_paused 1 while the autoscaler is paused (it observes and decides but changes nothing).
# TYPE qscale_autoscale_paused gauge
qscale_autoscale_paused{fleet="fast",queue="jobs"} 1
`), "qscale_autoscale_paused", "qscale_fleet_workers"); err != nil {
		t.Fatalf("before any decision: %v", err)
	}
	d := autoscale.Decision{
		From: 2, To: 5, Rule: "scale-out", Applied: true,
		Observation: autoscale.Observation{
			Queue: autoscale.QueueStats{Visible: 500, InFlight: 7},
			Fleet: autoscale.FleetState{Desired: 2, Running: 2}, BacklogPerWorker: 250,
		},
		Proposals: []policy.Proposal{{Policy: "backlog", Target: 100}},
	}
	c.Observe("fast", d)
	c.Observe("fast", autoscale.Decision{Rule: "observe-error", Error: "down"})
	c.Observe("slow", autoscale.Decision{Rule: "hold"})
	last = []autoscale.Decision{d}
	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP qscale_autoscale_decided_workers The desired worker count the last decision chose.
# TYPE qscale_autoscale_decided_workers gauge
qscale_autoscale_decided_workers{fleet="fast",queue="jobs"} 5
# HELP qscale_autoscale_backlog_per_worker_target The backlog per worker the policies aim for.
# TYPE qscale_autoscale_backlog_per_worker_target gauge
qscale_autoscale_backlog_per_worker_target{fleet="fast",queue="jobs"} 100
# HELP qscale_autoscale_decisions_total Autoscaler decisions, by the rule that decided and the direction (out, in, hold).
# TYPE qscale_autoscale_decisions_total counter
qscale_autoscale_decisions_total{direction="hold",fleet="fast",rule="observe-error"} 1
qscale_autoscale_decisions_total{direction="out",fleet="fast",rule="scale-out"} 1
qscale_autoscale_decisions_total{direction="hold",fleet="slow",rule="hold"} 1
# HELP qscale_autoscale_errors_total Autoscaler ticks that ended with an error, by rule (observe-error, fleet-error, backoff, or the rule whose change failed).
# TYPE qscale_autoscale_errors_total counter
qscale_autoscale_errors_total{fleet="fast",rule="observe-error"} 1
# HELP qscale_queue_messages Messages in a queue by state: visible, in_flight, delayed (SQS's ApproximateNumberOfMessages*).
# TYPE qscale_queue_messages gauge
qscale_queue_messages{fleet="fast",queue="jobs",state="delayed"} 0
qscale_queue_messages{fleet="fast",queue="jobs",state="in_flight"} 7
qscale_queue_messages{fleet="fast",queue="jobs",state="visible"} 500
`), "qscale_autoscale_decided_workers", "qscale_autoscale_backlog_per_worker_target", "qscale_autoscale_decisions_total",
		"qscale_autoscale_errors_total", "qscale_queue_messages")
	if err != nil {
		t.Fatal(err)
	}
}
