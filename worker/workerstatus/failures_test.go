package workerstatus_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/worker/workerstatus"
)

func failing(succeeded, failed uint64, errs ...workerstatus.HandlerError) workerstatus.Report {
	return workerstatus.Report{Version: 1, State: workerstatus.Idle,
		Counts: workerstatus.Counts{Received: succeeded + failed, Succeeded: succeeded, Failed: failed}, Errors: errs}
}

func herr(sec int, msg string) workerstatus.HandlerError {
	return workerstatus.HandlerError{Time: time.Unix(int64(sec), 0), Error: msg}
}

// A fleet's totals only grow while workers come, go and restart, and its
// last errors are the newest of all its workers', each once.
func TestTally(t *testing.T) {
	t.Parallel()
	var tl workerstatus.Tally
	tl.Add(map[string]workerstatus.Report{
		"w1": failing(5, 2, herr(1, "a"), herr(2, "b")),
		"w2": failing(0, 1, herr(3, "c")),
	})
	if tl.Totals.Succeeded != 5 || tl.Totals.Failed != 3 {
		t.Fatalf("totals %+v", tl.Totals)
	}
	// w1 restarts (its counters go back), w2 fails again, w3 appears.
	tl.Add(map[string]workerstatus.Report{
		"w1": failing(1, 1, herr(4, "d")),
		"w2": failing(0, 3, herr(3, "c"), herr(5, "e"), herr(6, "f")),
		"w3": failing(2, 0),
	})
	if tl.Totals.Succeeded != 8 || tl.Totals.Failed != 6 {
		t.Fatalf("totals after a restart %+v, want 8 succeeded and 6 failed", tl.Totals)
	}
	// w2 is gone; w1 reads the same again.
	tl.Add(map[string]workerstatus.Report{"w1": failing(1, 1, herr(4, "d"))})
	if tl.Totals.Succeeded != 8 || tl.Totals.Failed != 6 {
		t.Fatalf("totals after the same reading %+v", tl.Totals)
	}
	var got []string
	for _, e := range tl.Errors() {
		got = append(got, e.Worker+":"+e.Error)
	}
	if want := "w1:b,w2:c,w1:d,w2:e,w2:f"; strings.Join(got, ",") != want {
		t.Fatalf("last errors %v, want %s", got, want)
	}
}

// Tail keeps the end of a command's output, whole lines where it can and
// valid UTF-8 always.
func TestTail(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100) + "\nline two é\nlast line\n"
	if got := workerstatus.Tail([]byte(long), 30); got != "line two é\nlast line\n" {
		t.Errorf("Tail = %q", got)
	}
	if got := workerstatus.Tail([]byte("short"), 30); got != "short" {
		t.Errorf("Tail = %q", got)
	}
	if got := workerstatus.Tail([]byte("ééééé"), 5); got != "éé" {
		t.Errorf("Tail cut inside a character: %q", got)
	}
}
