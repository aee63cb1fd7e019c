package autoscale

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// Text says what the decision did and why in one short sentence with its
// numbers, for a person: "scale out 2 -> 5: 840 queued, 0.2 s each,
// drains in 34 s at 5; latency: wait 84 s > 10 s". Reason, Rule and
// Proposals keep the full, structured account.
func (d Decision) Text() string {
	switch {
	case d.Rule == "observe-error":
		return "cannot read the queue, nothing changes: " + d.Error
	case d.Rule == "fleet-error":
		return "cannot read the fleet, nothing changes: " + d.Error
	case d.Rule == "backoff":
		return fmt.Sprintf("waiting to retry: setting the fleet failed %d times: %s", d.Attempt, d.Error)
	case d.Error != "":
		return fmt.Sprintf("%s %d -> %d failed (attempt %d): %s", verb(d), d.From, d.To, d.Attempt, d.Error)
	}
	var b strings.Builder
	if d.To == d.From {
		fmt.Fprintf(&b, "holding at %d", d.To)
		if d.Ticks > 1 {
			fmt.Fprintf(&b, " since %s (%d ticks)", d.Since.Format(time.TimeOnly), d.Ticks)
		}
	} else {
		fmt.Fprintf(&b, "%s %d -> %d", verb(d), d.From, d.To)
		if !d.Applied {
			b.WriteString(" (not applied)")
		}
	}
	b.WriteString(": ")
	b.WriteString(facts(d))
	if why := cause(d); why != "" {
		b.WriteString("; ")
		b.WriteString(why)
	}
	return b.String()
}

func verb(d Decision) string {
	if d.To < d.From {
		return "scale in"
	}
	return "scale out"
}

// facts are the observation's numbers that matter to a person.
func facts(d Decision) string {
	o := d.Observation
	q := o.Queue
	parts := []string{strconv.Itoa(q.Visible) + " queued"}
	if q.InFlight > 0 {
		parts = append(parts, strconv.Itoa(q.InFlight)+" in flight")
	}
	if q.Delayed > 0 {
		parts = append(parts, strconv.Itoa(q.Delayed)+" delayed")
	}
	if q.ProcessingTime > 0 {
		parts = append(parts, seconds(q.ProcessingTime)+" each")
		if q.Visible > 0 && d.To > 0 {
			drain := time.Duration(float64(q.Visible) * float64(q.ProcessingTime) / float64(d.To))
			parts = append(parts, fmt.Sprintf("drains in %s at %d", seconds(drain), d.To))
		}
	}
	if q.ArrivalRate > 0 {
		parts = append(parts, fmt.Sprintf("%s msg/s in", num(q.ArrivalRate)))
	}
	if f := o.Fleet; f.Starting > 0 {
		parts = append(parts, fmt.Sprintf("%d starting", f.Starting))
	}
	return strings.Join(parts, ", ")
}

// cause names the rule or the policy that decided, with its figures.
func cause(d Decision) string {
	switch d.Rule {
	case "wake":
		return "wake from zero"
	case "max":
		return "capped at the maximum"
	case "min":
		return "raised to the minimum"
	case "in-flight":
		return "keeps a worker for the messages in flight"
	case "dry-run":
		return "dry run"
	}
	var p *policy.Proposal
	for i := range d.Proposals {
		c := &d.Proposals[i]
		if !c.Abstain && c.Desired == d.To {
			p = c
			break
		}
	}
	if p == nil {
		return words(d.Rule)
	}
	s := p.Policy
	if p.Rule != "" && p.Rule != p.Policy {
		s += " " + words(p.Rule)
	}
	if p.Target > 0 {
		s += fmt.Sprintf(" (%s vs target %s)", num(p.Metric), num(p.Target))
	}
	return s
}

func words(rule string) string { return strings.ReplaceAll(rule, "-", " ") }

// seconds writes d in seconds, two significant digits below 10 s and
// whole seconds above: "0.2 s", "34 s".
func seconds(d time.Duration) string {
	if v := d.Seconds(); v >= 10 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " s"
	}
	return num(d.Seconds()) + " s"
}

func num(v float64) string {
	switch {
	case v >= 100 || v == float64(int64(v)):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}
