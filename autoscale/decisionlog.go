package autoscale

import (
	"slices"
	"sync"
)

// DefaultLogEntries is how many entries a DecisionLog keeps by default.
const DefaultLogEntries = 2000

// DecisionLog keeps an autoscaler's decisions for people to read: every
// change and every error as an entry of its own, and each run of holds at
// one count as a single entry ("holding at 3 since 12:30:05 (412 ticks)")
// that is updated while nothing changes. So a log of a few thousand
// entries reaches back over hours of an idle system, where a ring of
// ticks is filled by holds within minutes. It is safe for concurrent use.
type DecisionLog struct {
	mu      sync.Mutex // guards the fields below
	max     int
	entries []Decision // oldest first
	next    uint64     // Entry of the next new entry
}

// NewDecisionLog returns a log that keeps the last max entries
// (DefaultLogEntries if max <= 0).
func NewDecisionLog(max int) *DecisionLog {
	if max <= 0 {
		max = DefaultLogEntries
	}
	return &DecisionLog{max: max, next: 1}
}

// Add records d and returns the entry it went into: a new one, or the
// current run of holds at the same count (the previous tick's), updated
// with d's observation.
// The fleet's per-worker counters (FleetState.Sensors) are not kept.
func (l *DecisionLog) Add(d Decision) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	d.Observation.Fleet.Sensors = nil
	if n := len(l.entries); n > 0 && d.Hold() {
		last := l.entries[n-1]
		// Consecutive ticks only: a restarted controller counts again
		// from 1, and its first hold begins a new run.
		if last.Hold() && last.To == d.To && d.Seq == last.Seq+1 {
			d.Entry, d.Since, d.Ticks = last.Entry, last.Since, last.Ticks+1
			l.entries[n-1] = d
			return d
		}
	}
	d.Entry, d.Since, d.Ticks = l.next, d.Time, 1
	l.next++
	l.entries = append(l.entries, d)
	if len(l.entries) > l.max {
		l.entries = slices.Delete(l.entries, 0, len(l.entries)-l.max)
	}
	return d
}

// Last returns up to n entries, oldest first.
func (l *DecisionLog) Last(n int) []Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	n = min(max(n, 0), len(l.entries))
	return slices.Clone(l.entries[len(l.entries)-n:])
}

// Restore replaces the log's entries with saved ones (oldest first, as
// Last returns them), such as those of an earlier run; new entries are
// numbered after them.
func (l *DecisionLog) Restore(saved []Decision) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(saved) > l.max {
		saved = saved[len(saved)-l.max:]
	}
	l.entries = slices.Clone(saved)
	l.next = 1
	for _, d := range l.entries {
		l.next = max(l.next, d.Entry+1)
	}
}
