// Package failwatch makes a fleet's failing handlers visible: at every
// autoscaler decision it adds up the workers' status documents (the
// sensor readings of autoscale.WorkerCounters: Failed and Errors), reads
// the fleet's dead-letter queue through a DeadLetters reader, and raises
// the warnings a person must act on (handlers failing more than they
// succeed; the fleet at its maximum while the backlog grows). `qscale up`
// (dead letters from its queue engine) and `qscale autoscale` (dead
// letters over SQS) narrate, chart and export its Report the same way.
// It imports no SDK.
package failwatch

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/worker/workerstatus"
)

// Defaults of the watch.
const (
	// Window is how far back the failure and success rates look.
	Window = 30 * time.Second
	// DefaultWarnAfter is how long the fleet may sit at its maximum while
	// the backlog grows before the watch warns.
	DefaultWarnAfter = 60 * time.Second
	// MinFailures is the fewest failures in the window that make the
	// "failing" warning: one failed retry is not a pattern.
	MinFailures = 3
)

// DeadLetterReading is what a DeadLetters reader knows of the fleet's
// dead-letter queue.
type DeadLetterReading struct {
	// Queue names the dead-letter queue of the fleet's (first) queue; ""
	// without a redrive policy.
	Queue string
	// Messages is how many messages the dead-letter queue holds now.
	Messages int
	// Moved counts the messages moved to it since qscale started, where
	// the queue can count them (qscale's own engine); Amazon SQS cannot,
	// and leaves it 0.
	Moved uint64
}

// DeadLetters reads the fleet's dead-letter queue. DeadLetters must not
// block on I/O: it is called on the autoscaler's tick, so a reader over a
// network keeps its last reading and refreshes it on its own.
type DeadLetters interface {
	DeadLetters() DeadLetterReading
}

// Options configure a Watch.
type Options struct {
	// Max is the fleet's maximum capacity, for the at-max warning; 0 never
	// warns of it.
	Max int
	// WarnAfter is how long the fleet may sit at Max while the backlog
	// grows before the at-max warning; default DefaultWarnAfter.
	WarnAfter time.Duration
	// DeadLetters reads the dead-letter queue; nil reports none.
	DeadLetters DeadLetters
	// Logger gets each warning once at warn when it begins, and at info
	// when it clears; default: discard.
	Logger *slog.Logger
}

// Watch is one fleet's failure watch. It is safe for concurrent use:
// Observe runs on the autoscaler's tick, Report on the dashboard's
// sampler and the metrics' scrapes.
type Watch struct {
	mu         sync.Mutex // guards the fields below
	o          Options    // Max changes with SetMax
	tally      workerstatus.Tally
	readings   []reading // oldest first, spanning at most Window
	atMaxSince time.Time // zero when the fleet is below its maximum
	atMaxFrom  int       // the backlog when atMaxSince began
	since      map[string]time.Time
	report     dashboard.Failures
}

type reading struct {
	at                time.Time
	succeeded, failed uint64
}

// New returns a Watch with an empty report.
func New(o Options) *Watch {
	if o.WarnAfter <= 0 {
		o.WarnAfter = DefaultWarnAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watch{o: o, since: map[string]time.Time{},
		report: dashboard.Failures{Window: Window, LastErrors: []workerstatus.HandlerError{}, Warnings: []dashboard.Warning{}}}
}

// SetMax changes the fleet's maximum capacity (a reloaded
// configuration's) for the at-max warning.
func (w *Watch) SetMax(max int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.o.Max = max
}

// Report returns the latest report.
func (w *Watch) Report() dashboard.Failures {
	w.mu.Lock()
	defer w.mu.Unlock()
	return clone(w.report)
}

// clone copies r's slices, so a report handed out never changes.
func clone(r dashboard.Failures) dashboard.Failures {
	r.LastErrors = append([]workerstatus.HandlerError{}, r.LastErrors...)
	r.Warnings = append([]dashboard.Warning{}, r.Warnings...)
	return r
}

// Observe takes one decision's observation and returns the new report.
func (w *Watch) Observe(d autoscale.Decision) dashboard.Failures {
	var dl DeadLetterReading
	if w.o.DeadLetters != nil {
		dl = w.o.DeadLetters.DeadLetters()
	}
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
	w.readings = append(w.readings, reading{at: now, succeeded: t.Succeeded, failed: t.Failed})
	cut := 0
	for cut < len(w.readings)-1 && now.Sub(w.readings[cut+1].at) >= Window {
		cut++
	}
	w.readings = w.readings[cut:]
	first := w.readings[0]
	r := dashboard.Failures{Succeeded: t.Succeeded, Failed: t.Failed, Window: Window, LastErrors: w.tally.Errors(),
		DeadLettered: dl.Moved, DeadLetterQueue: dl.Queue, DeadLetterMessages: dl.Messages}
	failed, succeeded := t.Failed-first.failed, t.Succeeded-first.succeeded
	if span := now.Sub(first.at).Seconds(); span > 0 {
		r.FailureRate, r.SuccessRate = float64(failed)/span, float64(succeeded)/span
	}

	r.Warnings = []dashboard.Warning{}
	if failed >= MinFailures && failed > succeeded {
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
	return clone(r)
}

// atMaxLocked returns the at-max warning's text when the fleet has been at
// its maximum for WarnAfter and the backlog grew meanwhile, "" otherwise.
func (w *Watch) atMaxLocked(d autoscale.Decision) string {
	o := d.Observation
	backlog := o.Queue.Visible + o.Queue.Delayed
	if d.Error != "" || w.o.Max <= 0 || o.Fleet.Desired < w.o.Max {
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
	if held < w.o.WarnAfter || backlog <= w.atMaxFrom {
		return ""
	}
	q := o.Queue
	speed := ""
	if q.ProcessingTime > 0 {
		speed = fmt.Sprintf(", %s per message", RoundDuration(q.ProcessingTime))
	}
	return fmt.Sprintf("the fleet has been at its maximum of %d workers for %s and the backlog grew from %d to %d "+
		"(%.1f msg/s arrive, %.1f msg/s done%s): raise maxCapacity, or make the handler faster",
		w.o.Max, RoundDuration(held), w.atMaxFrom, backlog, q.ArrivalRate, q.CompletionRate, speed)
}

func failingText(r dashboard.Failures, failed, succeeded uint64) string {
	s := fmt.Sprintf("handlers fail more than they succeed: %d failed, %d succeeded in the last %s", failed, succeeded, RoundDuration(r.Window))
	if n := len(r.LastErrors); n > 0 {
		s += "; last error: " + DescribeError(r.LastErrors[n-1])
	}
	if r.DeadLetterQueue != "" {
		s += fmt.Sprintf("; failed messages are retried, then moved to %s (%d there now)", r.DeadLetterQueue, r.DeadLetterMessages)
	}
	return s
}

// DescribeError is one handler error on one line: what failed and the
// last line of its standard error.
func DescribeError(e workerstatus.HandlerError) string {
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
func (w *Watch) warnLocked(kind string, now time.Time, text string) dashboard.Warning {
	since, ok := w.since[kind]
	if !ok {
		since = now
		w.since[kind] = now
		w.o.Logger.Warn(text, "warning", kind)
	}
	return dashboard.Warning{Kind: kind, Since: since, Text: text}
}

func (w *Watch) clearLocked(kind string, now time.Time) {
	if since, ok := w.since[kind]; ok {
		delete(w.since, kind)
		w.o.Logger.Info("warning cleared", "warning", kind, "lasted", now.Sub(since).Round(time.Second))
	}
}

// RoundDuration rounds d for a person: to the second from a minute up,
// to a tenth of a second from a second up, else to the millisecond.
func RoundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}
