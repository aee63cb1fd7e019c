package workerstatus

import (
	"cmp"
	"slices"
	"time"
)

// Candidate is one worker of a fleet as scale-in sees it: plain data, read
// by the fleet before the decision.
type Candidate struct {
	// ID names the worker in the fleet (a process id, a pod, a task ARN,
	// an instance id); Order does not read it.
	ID string
	// Starting is true while the worker is not ready: no status to read
	// yet (a process that has not opened its status endpoint, a pod not
	// Ready, a task or instance not yet running).
	Starting bool
	// StartedAt is when the worker started; it orders starting workers.
	StartedAt time.Time
	// Report is the worker's status, read at decision time, when Err is
	// nil and the worker is not starting.
	Report Report
	// Err is why the status could not be read.
	Err error
}

// Class is a candidate's rank for scale-in; lower goes first.
type Class int

// The classes, in removal order.
const (
	// ClassStarting: not ready yet; it has taken no work.
	ClassStarting Class = iota
	// ClassLeaving: reported stopped, or draining with nothing in hand;
	// it is about to exit whatever the fleet does.
	ClassLeaving
	// ClassIdle: idle and holding no message.
	ClassIdle
	// ClassUnknown: its status could not be read, or is of a version or
	// state this qscale does not know. It may be working, so it is kept
	// over every worker known to be idle.
	ClassUnknown
	// ClassBusy: holds at least one message (busy, or draining or idle
	// with messages in hand, prefetched ones included).
	ClassBusy
)

func (c Class) String() string {
	switch c {
	case ClassStarting:
		return "starting"
	case ClassLeaving:
		return "leaving"
	case ClassIdle:
		return "idle"
	case ClassUnknown:
		return "unknown"
	case ClassBusy:
		return "busy"
	}
	return "class?"
}

// Class ranks c for scale-in.
func (c Candidate) Class() Class {
	switch {
	case c.Starting:
		return ClassStarting
	case c.Err != nil, c.Report.Check() != nil:
		return ClassUnknown
	case c.Report.Holding():
		return ClassBusy
	case c.Report.State == Idle:
		return ClassIdle
	}
	return ClassLeaving // stopped, or draining with nothing held
}

// Order returns the candidates in the order a scale-in removes them: the
// first k go when k must. It is the one rule every qscale fleet follows:
//
//  1. starting workers, the most recently started first;
//  2. leaving workers (stopped, or draining with nothing held), the
//     longest in that state first;
//  3. idle workers, the longest idle first;
//  4. workers whose status is unknown, in the given order;
//  5. busy workers, the fewest messages held first, then the one busy for
//     the shortest time first (the least work to finish or to lose).
//
// Ties keep the given order. Order does not change cs.
func Order(cs []Candidate) []Candidate {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, compare)
	return out
}

func compare(a, b Candidate) int {
	ca, cb := a.Class(), b.Class()
	if ca != cb {
		return cmp.Compare(ca, cb)
	}
	switch ca {
	case ClassStarting:
		return b.StartedAt.Compare(a.StartedAt) // newest first
	case ClassLeaving, ClassIdle:
		return a.Report.Since.Compare(b.Report.Since) // longest first
	case ClassBusy:
		return cmp.Or(
			cmp.Compare(a.Report.InFlight, b.Report.InFlight),
			b.Report.Since.Compare(a.Report.Since), // busy the shortest first
		)
	}
	return 0
}

// CountBusy is how many candidates hold work (ClassBusy): a fleet that
// must not remove busy workers keeps at least this many.
func CountBusy(cs []Candidate) int {
	n := 0
	for _, c := range cs {
		if c.Class() == ClassBusy {
			n++
		}
	}
	return n
}
