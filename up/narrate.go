package up

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/dashboard"
)

// narrator tells a person at the terminal what the fleet does: one line per
// change of the desired count or error, while there is work a status line
// every few seconds, a line when handlers fail (at most one every few
// seconds, with the last error), and each warning when it begins and
// ends. An idle system prints nothing.
type narrator struct {
	out   io.Writer
	every time.Duration
	// prefix names the fleet on every line when there are several.
	prefix string

	mu       sync.Mutex // guards the fields below
	lastLine time.Time
	idle     bool
	lastErr  string
	// Handler failures: the fleet's failure count at the last failures
	// line, when that line was printed, the failure rate, and the
	// warnings printed and not yet resolved.
	failShown uint64
	failLine  time.Time
	failRate  float64
	warned    map[string]bool
	// logsHint: the workers' output is hidden, so the first failures
	// line says how to show it.
	logsHint bool
}

func newNarrator(out io.Writer, every time.Duration, prefix string) *narrator {
	return &narrator{out: out, every: every, prefix: prefix, idle: true, warned: map[string]bool{}}
}

// failures tells of new handler failures and of warnings that begin or
// end; the autoscaler's tick calls it before decision.
func (n *narrator) failures(now time.Time, r dashboard.Failures) {
	if n.out == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	clock := now.Format("15:04:05") + "  " + n.prefix
	n.failRate = r.FailureRate
	if r.Failed > n.failShown && (n.failLine.IsZero() || now.Sub(n.failLine) >= n.every) {
		line := fmt.Sprintf("%shandlers failed %d times", clock, r.Failed-n.failShown)
		if n.failShown > 0 {
			line += fmt.Sprintf(" (%d in all)", r.Failed)
		}
		if r.DeadLetterQueue != "" {
			line += fmt.Sprintf(", %d moved to %s", r.DeadLettered, r.DeadLetterQueue)
		}
		if k := len(r.LastErrors); k > 0 {
			line += "; last error " + describeError(r.LastErrors[k-1])
		}
		if n.logsHint && n.failShown == 0 {
			line += "\n          (the handlers' output is hidden: qscale up --worker-logs shows it)"
		}
		fmt.Fprintln(n.out, line)
		n.failShown, n.failLine = r.Failed, now
	}
	on := map[string]bool{}
	for _, w := range r.Warnings {
		on[w.Kind] = true
		if !n.warned[w.Kind] {
			fmt.Fprintf(n.out, "%sWARNING: %s\n", clock, w.Text)
			n.warned[w.Kind] = true
		}
	}
	for kind := range n.warned {
		if !on[kind] {
			fmt.Fprintf(n.out, "%sresolved: %s\n", clock, warningName(kind))
			delete(n.warned, kind)
		}
	}
}

// note prints one line as it is.
func (n *narrator) note(now time.Time, text string) {
	if n.out == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	fmt.Fprintf(n.out, "%s  %s\n", now.Format("15:04:05"), text)
}

func warningName(kind string) string {
	switch kind {
	case dashboard.WarnAtMax:
		return "the fleet is no longer at its maximum with a growing backlog"
	case dashboard.WarnFailing:
		return "handlers no longer fail more than they succeed"
	}
	return kind
}

func (n *narrator) decision(d autoscale.Decision) {
	if n.out == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	o := d.Observation
	q := o.Queue
	clock := d.Time.Format("15:04:05") + "  " + n.prefix
	switch {
	case d.Error != "":
		if d.Error != n.lastErr {
			fmt.Fprintf(n.out, "%serror (%s): %s\n", clock, d.Rule, d.Error)
		}
		n.lastErr = d.Error
		return
	case d.Changed():
		// "scale out 2 -> 5 workers: 840 queued, ..." (autoscale.Decision.Text).
		text := d.Text()
		if i := strings.Index(text, ": "); i >= 0 {
			text = text[:i] + " workers" + text[i:]
		}
		fmt.Fprintf(n.out, "%s%s\n", clock, text)
		n.lastLine = d.Time
	}
	n.lastErr = ""
	idle := q.Visible == 0 && q.InFlight == 0 && q.Delayed == 0 && o.Fleet.Desired == 0 && o.Fleet.Running == 0 && o.Fleet.Starting == 0
	if idle && !n.idle {
		fmt.Fprintf(n.out, "%sidle: queue empty, no workers\n", clock)
	}
	n.idle = idle
	if idle || d.Time.Sub(n.lastLine) < n.every {
		return
	}
	n.lastLine = d.Time
	line := fmt.Sprintf("%sworkers %d running", clock, o.Fleet.Running)
	if o.Fleet.Starting > 0 {
		line += fmt.Sprintf(", %d starting", o.Fleet.Starting)
	}
	line += fmt.Sprintf(" (desired %d)   visible %d, in flight %d", o.Fleet.Desired, q.Visible, q.InFlight)
	if q.Delayed > 0 {
		line += fmt.Sprintf(", delayed %d", q.Delayed)
	}
	line += fmt.Sprintf("   %.0f msg/s done", q.CompletionRate)
	if n.failRate > 0 {
		line += fmt.Sprintf(", %.1f/s failing", n.failRate)
	}
	if t := target(d); t > 0 {
		line += fmt.Sprintf("   backlog/worker %.0f (target %.0f)", o.BacklogPerWorker, t)
	}
	fmt.Fprintln(n.out, line)
}
