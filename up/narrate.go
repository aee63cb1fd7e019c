package up

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale"
)

// narrator tells a person at the terminal what the fleet does: one line per
// change of the desired count or error, and while there is work, a status
// line every few seconds. An idle system prints nothing.
type narrator struct {
	out   io.Writer
	every time.Duration
	// prefix names the fleet on every line when there are several.
	prefix string

	mu       sync.Mutex // guards the fields below
	lastLine time.Time
	idle     bool
	lastErr  string
}

func newNarrator(out io.Writer, every time.Duration, prefix string) *narrator {
	return &narrator{out: out, every: every, prefix: prefix, idle: true}
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
		verb := "scale out"
		if d.To < d.From {
			verb = "scale in "
		}
		fmt.Fprintf(n.out, "%s%s %d -> %d workers   %s\n", clock, verb, d.From, d.To, d.Reason)
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
	if t := target(d); t > 0 {
		line += fmt.Sprintf("   backlog/worker %.0f (target %.0f)", o.BacklogPerWorker, t)
	}
	fmt.Fprintln(n.out, line)
}
