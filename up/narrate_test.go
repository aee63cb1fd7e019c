package up

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/worker/workerstatus"
)

// The narration tells of failures at most once every few seconds, with the
// last error's last line of stderr, and of each warning once when it
// begins and once when it ends.
func TestNarratorFailures(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	n := newNarrator(out, 5*time.Second, "")
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	errs := []workerstatus.HandlerError{{Worker: "w2", Error: "handler command exited 1", Stderr: "Traceback\nValueError: bad width\n"}}
	warn := []dashboard.Warning{{Kind: dashboard.WarnFailing, Text: "handlers fail more than they succeed: 3 failed"}}
	n.failures(t0, dashboard.Failures{Failed: 3, LastErrors: errs, DeadLetterQueue: "jobs-dlq", DeadLettered: 1, Warnings: warn})
	n.failures(t0.Add(time.Second), dashboard.Failures{Failed: 6, LastErrors: errs, Warnings: warn})   // too soon
	n.failures(t0.Add(6*time.Second), dashboard.Failures{Failed: 9, LastErrors: errs, Warnings: warn}) // 6 more
	n.failures(t0.Add(7*time.Second), dashboard.Failures{Failed: 9})                                   // no new failure; the warning ends
	want := `10:00:00  handlers failed 3 times, 1 moved to jobs-dlq; last error w2: handler command exited 1: ValueError: bad width
10:00:00  WARNING: handlers fail more than they succeed: 3 failed
10:00:06  handlers failed 6 times (9 in all); last error w2: handler command exited 1: ValueError: bad width
10:00:07  resolved: handlers no longer fail more than they succeed
`
	if got := out.String(); got != want {
		t.Errorf("narration:\n%s\nwant:\n%s", got, want)
	}
	if strings.Count(out.String(), "WARNING") != 1 {
		t.Error("the warning was printed more than once")
	}
}
