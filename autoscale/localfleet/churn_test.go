package localfleet_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testwait"
)

// TestScaleChurnProcessesEachMessageOnce scales the fleet in and out
// repeatedly while messages arrive: every message is handled exactly once
// (no busy worker is killed mid-message, nothing is lost).
//
// Nor is any message received twice: a worker that drains during a long
// poll lets that receive finish and handles what it brings, so no message
// is stranded in flight by an abandoned ReceiveMessage.
func TestScaleChurnProcessesEachMessageOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if err := os.WriteFile(filepath.Join(e.dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := e.options()
	opts.Command = []string{qscaleBin, "worker", "--queue-url", e.queue, "--grace", "20s", "--visibility", "2s", "--wait", "1",
		"--", "sh", "-c", handler}
	f := e.start(opts)
	ctx := t.Context()
	const total = 150
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for range total / 5 {
			e.send(5)
			time.Sleep(30 * time.Millisecond) // a steady arrival rate
		}
	}()
	for _, n := range []int{5, 2, 4, 1, 5, 0, 3, 1, 4, 2, 5} {
		if err := f.SetDesired(ctx, n); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // let the fleet act on each size while messages flow
	}
	<-sent
	testwait.For(t, 30*time.Second, "the queue to empty", func() bool {
		v, inf := e.counts()
		return v == 0 && inf == 0
	})
	started, done := e.handled()
	if len(done) != total {
		t.Errorf("%d messages finished, want %d", len(done), total)
	}
	received2 := 0
	for id, counts := range started {
		if len(counts) != 1 || done[id] != 1 {
			t.Errorf("message %s: started %d times (receive counts %v), finished %d times; want once", id, len(counts), counts, done[id])
		}
		if counts[0] > 1 {
			received2++
		}
	}
	if st := f.Stats(); st.Killed != 0 || st.Crashes != 0 {
		t.Errorf("Stats = %+v: scale-in killed or lost a worker", st)
	}
	if received2 > 0 {
		t.Fatalf("%d of %d messages were received twice", received2, total)
	}
}
