package failwatch

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/dashboard"
)

// Collector exports every fleet's failure report at scrape time:
//
//	qscale_handler_failures_total{fleet,queue}      handler calls that failed
//	qscale_handler_successes_total{fleet,queue}     handler calls that succeeded
//	qscale_handler_failure_rate{fleet,queue}        failures per second over the last 30 s
//	qscale_dead_letter_moved_total{fleet,queue}     messages moved to the dead-letter queue (0 on Amazon SQS, which does not count them)
//	qscale_dead_letter_messages{fleet,queue,dead_letter_queue}  messages the dead-letter queue holds
//	qscale_fleet_warning{fleet,queue,warning}       1 while a warning holds (at-max, failing)
//
// queue is the fleet's queue name (names joined by "+" for a fleet of
// several queues), as in the autoscaler's series.
type Collector struct {
	mu     sync.Mutex // guards fleets
	fleets []fleet

	failures, successes, rate, moved, dl *prometheus.Desc
	warning                              *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

type fleet struct {
	name, queue string
	report      func() dashboard.Failures
}

// NewCollector returns a Collector of no fleet; Add adds them.
func NewCollector() *Collector {
	l := []string{"fleet", "queue"}
	return &Collector{
		failures:  prometheus.NewDesc("qscale_handler_failures_total", "Handler calls that failed, over the fleet's workers.", l, nil),
		successes: prometheus.NewDesc("qscale_handler_successes_total", "Handler calls that succeeded, over the fleet's workers.", l, nil),
		rate:      prometheus.NewDesc("qscale_handler_failure_rate", "Handler failures per second over the last 30 s.", l, nil),
		moved:     prometheus.NewDesc("qscale_dead_letter_moved_total", "Messages the fleet's queues moved to their dead-letter queue (0 where the queue does not count them: Amazon SQS).", l, nil),
		dl:        prometheus.NewDesc("qscale_dead_letter_messages", "Messages the fleet's dead-letter queue holds.", []string{"fleet", "queue", "dead_letter_queue"}, nil),
		warning:   prometheus.NewDesc("qscale_fleet_warning", "1 while a warning holds: at-max (at the maximum, backlog growing), failing (more failures than successes).", []string{"fleet", "queue", "warning"}, nil),
	}
}

// Add exports one fleet's report (a Watch's Report).
func (c *Collector) Add(fleetName, queue string, report func() dashboard.Failures) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fleets = append(c.fleets, fleet{name: fleetName, queue: queue, report: report})
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.failures, c.successes, c.rate, c.moved, c.dl, c.warning} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	fleets := append([]fleet(nil), c.fleets...)
	c.mu.Unlock()
	for _, f := range fleets {
		r := f.report()
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(r.Failed), f.name, f.queue)
		ch <- prometheus.MustNewConstMetric(c.successes, prometheus.CounterValue, float64(r.Succeeded), f.name, f.queue)
		ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, r.FailureRate, f.name, f.queue)
		ch <- prometheus.MustNewConstMetric(c.moved, prometheus.CounterValue, float64(r.DeadLettered), f.name, f.queue)
		if r.DeadLetterQueue != "" {
			ch <- prometheus.MustNewConstMetric(c.dl, prometheus.GaugeValue, float64(r.DeadLetterMessages), f.name, f.queue, r.DeadLetterQueue)
		}
		for _, kind := range []string{dashboard.WarnAtMax, dashboard.WarnFailing} {
			v := 0.0
			for _, wn := range r.Warnings {
				if wn.Kind == kind {
					v = 1
				}
			}
			ch <- prometheus.MustNewConstMetric(c.warning, prometheus.GaugeValue, v, f.name, f.queue, kind)
		}
	}
}
