package workerstatus

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxErrors is how many recent handler errors a worker's document keeps
// (Report.Errors), and how many a Tally keeps for the whole fleet.
const MaxErrors = 5

// MaxStderr is the most bytes of a failed command's standard error that a
// HandlerError keeps (the end of it: the last lines say what went wrong).
const MaxStderr = 2048

// HandlerError is one failed handler call, as a worker reports it in its
// status document. Added within version 1: a worker that predates it
// reports none.
type HandlerError struct {
	// Time is when the handler returned.
	Time time.Time `json:"time"`
	// MessageID is the message it failed on, and ReceiveCount that
	// message's receive count then (at the queue's maxReceiveCount the
	// message moves to the dead-letter queue).
	MessageID    string `json:"message_id,omitempty"`
	ReceiveCount int    `json:"receive_count,omitempty"`
	// Error is the handler's error in words: "handler command exited 3",
	// "exec: \"does-not-exist\": executable file not found in $PATH".
	Error string `json:"error"`
	// ExitCode is a command's exit status; nil when the handler is not a
	// command or the command never ran. Signal names the signal that
	// killed it.
	ExitCode *int   `json:"exit_code,omitempty"`
	Signal   string `json:"signal,omitempty"`
	// Stderr is the end of what the command wrote to its standard error
	// (at most MaxStderr bytes), even when the worker's own output is
	// discarded.
	Stderr string `json:"stderr,omitempty"`
	// Worker names the worker that reported it; set by Tally, not by the
	// worker itself.
	Worker string `json:"worker,omitempty"`
}

// Tail returns the end of b, at most n bytes, cut at a line start when
// one is near and never inside a UTF-8 sequence.
func Tail(b []byte, n int) string {
	if len(b) <= n {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	b = b[len(b)-n:]
	if i := strings.IndexByte(string(b[:min(len(b), 256)]), '\n'); i >= 0 {
		b = b[i+1:]
	}
	for len(b) > 0 && !utf8.RuneStart(b[0]) {
		b = b[1:]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// KeepErrors appends e to errs and returns at most MaxErrors, the newest
// last.
func KeepErrors(errs []HandlerError, e HandlerError) []HandlerError {
	errs = append(errs, e)
	if len(errs) > MaxErrors {
		errs = slices.Delete(errs, 0, len(errs)-MaxErrors)
	}
	return errs
}

// Tally adds up the counts of a fleet's workers as their documents are
// read, again and again: totals that only grow although workers come, go
// and restart (a worker whose counters went back is a new process, whose
// counts are added from zero), and the fleet's most recent handler errors.
// It is not safe for concurrent use.
type Tally struct {
	last map[string]Counts // by worker, at the previous Add
	// Totals are the fleet's counts since the Tally began.
	Totals Counts
	errs   []HandlerError
	seen   map[string]time.Time // newest error time kept, by worker
}

// Add takes one reading of the workers' documents, by worker id.
func (t *Tally) Add(reports map[string]Report) {
	if t.last == nil {
		t.last = make(map[string]Counts)
		t.seen = make(map[string]time.Time)
	}
	next := make(map[string]Counts, len(reports))
	for id, r := range reports {
		c := r.Counts
		next[id] = c
		// A worker seen for the first time adds all its counts; one whose
		// counters went back is a new process under the same id.
		prev := t.last[id]
		if c.Succeeded < prev.Succeeded || c.Failed < prev.Failed || c.Received < prev.Received {
			prev = Counts{}
			delete(t.seen, id)
		}
		t.Totals.Received += c.Received - min(prev.Received, c.Received)
		t.Totals.Succeeded += c.Succeeded - min(prev.Succeeded, c.Succeeded)
		t.Totals.Failed += c.Failed - min(prev.Failed, c.Failed)
		t.Totals.DeleteErrors += c.DeleteErrors - min(prev.DeleteErrors, c.DeleteErrors)
		t.Totals.ReceiveErrors += c.ReceiveErrors - min(prev.ReceiveErrors, c.ReceiveErrors)
		t.Totals.HandlerSeconds += max(c.HandlerSeconds-prev.HandlerSeconds, 0)
		newest := t.seen[id]
		for _, e := range r.Errors {
			if !e.Time.After(newest) {
				continue
			}
			e.Worker = id
			t.errs = append(t.errs, e)
			t.seen[id] = e.Time
		}
	}
	t.last = next
	slices.SortStableFunc(t.errs, func(a, b HandlerError) int { return a.Time.Compare(b.Time) })
	if len(t.errs) > MaxErrors {
		t.errs = slices.Delete(t.errs, 0, len(t.errs)-MaxErrors)
	}
}

// Errors returns the fleet's most recent handler errors, at most
// MaxErrors, the newest last.
func (t *Tally) Errors() []HandlerError { return slices.Clone(t.errs) }
