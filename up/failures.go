package up

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/worker/workerstatus"
)

// Defaults of the failure watch.
const (
	// failureWindow is how far back the failure and success rates look.
	failureWindow = 30 * time.Second
	// defaultWarnAfter is how long the fleet may sit at its maximum while
	// the backlog grows before qscale up warns.
	defaultWarnAfter = 60 * time.Second
	// minFailures is the fewest failures in the window that make the
	// "failing" warning: one failed retry is not a pattern.
	minFailures = 3
)

// failureWatch makes failing handlers visible: at every autoscaler tick it
// adds up the workers' status documents (workerstatus.Tally, read by the
// fleet for the decision), reads the queue engine's dead-letter moves, and
// raises the warnings a person must act on. The narration, the dashboard
// and /metrics show its Report.
type failureWatch struct {
	qs        []*queue.Queue // the fleet's queues
	e         *queue.Engine
	max       int
	warnAfter time.Duration
	log       *slog.Logger

	mu         sync.Mutex // guards the fields below
	tally      workerstatus.Tally
	readings   []failReading // oldest first, spanning at most failureWindow
	atMaxSince time.Time     // zero when the fleet is below its maximum
	atMaxFrom  int           // the backlog when atMaxSince began
	since      map[string]time.Time
	report     dashboard.Failures
}

type failReading struct {
	at                time.Time
	succeeded, failed uint64
}

func newFailureWatch(e *queue.Engine, qs []*queue.Queue, max int, warnAfter time.Duration, log *slog.Logger) *failureWatch {
	if warnAfter <= 0 {
		warnAfter = defaultWarnAfter
	}
	return &failureWatch{qs: qs, e: e, max: max, warnAfter: warnAfter, log: log, since: map[string]time.Time{},
		report: dashboard.Failures{Window: failureWindow, LastErrors: []workerstatus.HandlerError{}, Warnings: []dashboard.Warning{}}}
}

// Report returns the latest report.
func (w *failureWatch) Report() dashboard.Failures {
	w.mu.Lock()
	defer w.mu.Unlock()
	return cloneFailures(w.report)
}

// cloneFailures copies r's slices, so a report handed out never changes.
func cloneFailures(r dashboard.Failures) dashboard.Failures {
	r.LastErrors = append([]workerstatus.HandlerError{}, r.LastErrors...)
	r.Warnings = append([]dashboard.Warning{}, r.Warnings...)
	return r
}

// observe takes one decision's observation and returns the new report.
func (w *failureWatch) observe(d autoscale.Decision) dashboard.Failures {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := d.Time
	if sn := d.Observation.Fleet.Sensors; sn != nil {
		docs := make(map[string]workerstatus.Report, len(sn.Workers))
		for _, wc := range sn.Workers {
			docs[wc.ID] = workerstatus.Report{Counts: workerstatus.Counts{Succeeded: wc.Succeeded, Failed: wc.Failed}, Errors: wc.Errors}
		}
		w.tally.Add(docs)
	}
	t := w.tally.Totals
	w.readings = append(w.readings, failReading{at: now, succeeded: t.Succeeded, failed: t.Failed})
	cut := 0
	for cut < len(w.readings)-1 && now.Sub(w.readings[cut+1].at) >= failureWindow {
		cut++
	}
	w.readings = w.readings[cut:]
	first := w.readings[0]
	r := dashboard.Failures{Succeeded: t.Succeeded, Failed: t.Failed, Window: failureWindow, LastErrors: w.tally.Errors()}
	failed, succeeded := t.Failed-first.failed, t.Succeeded-first.succeeded
	if span := now.Sub(first.at).Seconds(); span > 0 {
		r.FailureRate, r.SuccessRate = float64(failed)/span, float64(succeeded)/span
	}
	// A fleet of several queues: moves add up; the first queue's
	// dead-letter queue is the one named (they usually share one).
	for _, q := range w.qs {
		r.DeadLettered += q.Stats().Moved
		if name := deadLetterQueue(q); name != "" && r.DeadLetterQueue == "" {
			r.DeadLetterQueue = name
			if dq, err := w.e.Queue(name); err == nil {
				c := dq.Counts()
				r.DeadLetterMessages = c.Visible + c.Inflight + c.Delayed
			}
		}
	}

	r.Warnings = []dashboard.Warning{}
	if failed >= minFailures && failed > succeeded {
		r.Warnings = append(r.Warnings, w.warnLocked(dashboard.WarnFailing, now, failingText(r, failed, succeeded)))
	} else {
		w.clearLocked(dashboard.WarnFailing, now)
	}
	if text := w.atMaxLocked(d); text != "" {
		r.Warnings = append(r.Warnings, w.warnLocked(dashboard.WarnAtMax, now, text))
	} else {
		w.clearLocked(dashboard.WarnAtMax, now)
	}
	w.report = r
	return cloneFailures(r)
}

// atMaxLocked returns the at-max warning's text when the fleet has been at
// its maximum for warnAfter and the backlog grew meanwhile, "" otherwise.
func (w *failureWatch) atMaxLocked(d autoscale.Decision) string {
	o := d.Observation
	backlog := o.Queue.Visible + o.Queue.Delayed
	if d.Error != "" || w.max <= 0 || o.Fleet.Desired < w.max {
		w.atMaxSince = time.Time{}
		return ""
	}
	if w.atMaxSince.IsZero() || backlog < w.atMaxFrom {
		// At the maximum from now on, or the backlog shrinks: the fleet
		// keeps up for now.
		w.atMaxSince, w.atMaxFrom = d.Time, backlog
		return ""
	}
	held := d.Time.Sub(w.atMaxSince)
	if held < w.warnAfter || backlog <= w.atMaxFrom {
		return ""
	}
	q := o.Queue
	speed := ""
	if q.ProcessingTime > 0 {
		speed = fmt.Sprintf(", %s per message", roundDuration(q.ProcessingTime))
	}
	return fmt.Sprintf("the fleet has been at its maximum of %d workers for %s and the backlog grew from %d to %d "+
		"(%.1f msg/s arrive, %.1f msg/s done%s): raise maxCapacity, or make the handler faster",
		w.max, roundDuration(held), w.atMaxFrom, backlog, q.ArrivalRate, q.CompletionRate, speed)
}

func failingText(r dashboard.Failures, failed, succeeded uint64) string {
	s := fmt.Sprintf("handlers fail more than they succeed: %d failed, %d succeeded in the last %s", failed, succeeded, roundDuration(r.Window))
	if n := len(r.LastErrors); n > 0 {
		s += "; last error: " + describeError(r.LastErrors[n-1])
	}
	if r.DeadLetterQueue != "" {
		s += fmt.Sprintf("; failed messages are retried, then moved to %s (%d moved so far)", r.DeadLetterQueue, r.DeadLettered)
	}
	return s
}

// describeError is one handler error on one line: what failed and the
// last line of its standard error.
func describeError(e workerstatus.HandlerError) string {
	s := e.Error
	if e.Worker != "" {
		s = e.Worker + ": " + s
	}
	if last := lastLine(e.Stderr); last != "" {
		s += ": " + last
	}
	return s
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n\r ")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// warnLocked keeps kind's start time and logs it at warn when it begins.
func (w *failureWatch) warnLocked(kind string, now time.Time, text string) dashboard.Warning {
	since, ok := w.since[kind]
	if !ok {
		since = now
		w.since[kind] = now
		w.log.Warn(text, "warning", kind)
	}
	return dashboard.Warning{Kind: kind, Since: since, Text: text}
}

func (w *failureWatch) clearLocked(kind string, now time.Time) {
	if since, ok := w.since[kind]; ok {
		delete(w.since, kind)
		w.log.Info("warning cleared", "warning", kind, "lasted", now.Sub(since).Round(time.Second))
	}
}

// deadLetterQueue names q's dead-letter queue, "" without a redrive
// policy.
func deadLetterQueue(q *queue.Queue) string {
	attrs, err := q.Attributes([]string{queue.AttrRedrivePolicy})
	if err != nil || attrs[queue.AttrRedrivePolicy] == "" {
		return ""
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if json.Unmarshal([]byte(attrs[queue.AttrRedrivePolicy]), &rp) != nil {
		return ""
	}
	arn := rp.DeadLetterTargetArn
	return arn[strings.LastIndexByte(arn, ':')+1:]
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

// failureCollector exports every fleet's failure report at scrape time:
//
//	qscale_handler_failures_total{fleet,queue}      handler calls that failed
//	qscale_handler_successes_total{fleet,queue}     handler calls that succeeded
//	qscale_handler_failure_rate{fleet,queue}        failures per second over the last 30 s
//	qscale_dead_letter_moved_total{fleet,queue}     messages moved to the dead-letter queue
//	qscale_dead_letter_messages{fleet,queue,dead_letter_queue}  messages the dead-letter queue holds
//	qscale_fleet_warning{fleet,queue,warning}       1 while a warning holds (at-max, failing)
//
// queue is the fleet's queue name (names joined by "+" for a fleet of
// several queues), as in the autoscaler's series.
type failureCollector struct {
	mu     sync.Mutex // guards fleets
	fleets []failureFleet

	failures, successes, rate, moved, dl *prometheus.Desc
	warning                              *prometheus.Desc
}

type failureFleet struct {
	name, queue string
	w           *failureWatch
}

func newFailureCollector() *failureCollector {
	l := []string{"fleet", "queue"}
	return &failureCollector{
		failures:  prometheus.NewDesc("qscale_handler_failures_total", "Handler calls that failed, over the fleet's workers.", l, nil),
		successes: prometheus.NewDesc("qscale_handler_successes_total", "Handler calls that succeeded, over the fleet's workers.", l, nil),
		rate:      prometheus.NewDesc("qscale_handler_failure_rate", "Handler failures per second over the last 30 s.", l, nil),
		moved:     prometheus.NewDesc("qscale_dead_letter_moved_total", "Messages the fleet's queues moved to their dead-letter queue.", l, nil),
		dl:        prometheus.NewDesc("qscale_dead_letter_messages", "Messages the fleet's dead-letter queue holds.", []string{"fleet", "queue", "dead_letter_queue"}, nil),
		warning:   prometheus.NewDesc("qscale_fleet_warning", "1 while a warning holds: at-max (at the maximum, backlog growing), failing (more failures than successes).", []string{"fleet", "queue", "warning"}, nil),
	}
}

// add exports one fleet's report.
func (c *failureCollector) add(fleet, queue string, w *failureWatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fleets = append(c.fleets, failureFleet{name: fleet, queue: queue, w: w})
}

func (c *failureCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.failures, c.successes, c.rate, c.moved, c.dl, c.warning} {
		ch <- d
	}
}

func (c *failureCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	fleets := append([]failureFleet(nil), c.fleets...)
	c.mu.Unlock()
	for _, f := range fleets {
		r := f.w.Report()
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
