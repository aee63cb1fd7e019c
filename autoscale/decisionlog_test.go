package autoscale_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
)

func dec(seq uint64, from, to int, err string) autoscale.Decision {
	return autoscale.Decision{Seq: seq, Time: time.Unix(int64(1000+seq), 0).UTC(), From: from, To: to, Error: err, Applied: err == "", Rule: "target-tracking"}
}

// Holds at one count make one entry that grows while nothing changes;
// every change and error is an entry of its own; the oldest go first.
func TestDecisionLogSummarisesHolds(t *testing.T) {
	t.Parallel()
	l := autoscale.NewDecisionLog(4)
	l.Add(dec(1, 0, 2, ""))
	for seq := uint64(2); seq <= 100; seq++ {
		l.Add(dec(seq, 2, 2, ""))
	}
	got := l.Last(10)
	if len(got) != 2 || got[1].Ticks != 99 || got[1].Seq != 100 || !got[1].Since.Equal(time.Unix(1002, 0)) || got[1].Entry != 2 {
		t.Fatalf("after a change and 99 holds: %+v", got)
	}
	if txt := got[1].Text(); !strings.HasPrefix(txt, "holding at 2 since "+time.Unix(1002, 0).UTC().Format(time.TimeOnly)+" (99 ticks): ") {
		t.Errorf("hold text %q", txt)
	}
	l.Add(dec(101, 2, 2, "orchestrator unavailable"))
	l.Add(dec(102, 2, 2, ""))
	l.Add(dec(103, 2, 3, ""))
	l.Add(dec(1, 3, 3, "")) // a restarted controller: a new run
	got = l.Last(10)
	var entries []uint64
	for _, d := range got {
		entries = append(entries, d.Entry)
	}
	if len(got) != 4 || got[0].Seq != 101 || got[3].Seq != 1 || got[3].Ticks != 1 || entries[3] != 6 {
		t.Fatalf("bounded log: entries %v, %+v", entries, got)
	}

	// Restored in a new log (after a restart), entries go on from there.
	l2 := autoscale.NewDecisionLog(0)
	l2.Restore(got)
	if d := l2.Add(dec(1, 3, 4, "")); d.Entry != 7 {
		t.Fatalf("entry after restore %d, want 7", d.Entry)
	}
}

// Text is a short sentence with the numbers; the JSON carries it as
// "text" beside the structured fields.
func TestDecisionText(t *testing.T) {
	t.Parallel()
	d := autoscale.Decision{From: 2, To: 5, Applied: true, Rule: "target-tracking",
		Observation: autoscale.Observation{Queue: autoscale.QueueStats{Visible: 840, ProcessingTime: 200 * time.Millisecond, ArrivalRate: 12.5}},
		Proposals:   []policy.Proposal{{Policy: "backlog", Desired: 5, Rule: "target-tracking", Metric: 420, Target: 100}},
	}
	want := "scale out 2 -> 5: 840 queued, 0.2 s each, drains in 34 s at 5, 12.5 msg/s in; backlog target tracking (420 vs target 100)"
	if got := d.Text(); got != want {
		t.Errorf("Text()\n got %q\nwant %q", got, want)
	}
	wake := autoscale.Decision{From: 0, To: 1, Applied: true, Rule: "wake", Observation: autoscale.Observation{Queue: autoscale.QueueStats{Visible: 1}}}
	if got := wake.Text(); got != "scale out 0 -> 1: 1 queued; wake from zero" {
		t.Errorf("wake: %q", got)
	}
	if got := (autoscale.Decision{Rule: "observe-error", Error: "connection refused"}).Text(); got != "cannot read the queue, nothing changes: connection refused" {
		t.Errorf("observe error: %q", got)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["text"] != want || back["from"] != 2.0 || back["proposals"] == nil {
		t.Errorf("JSON %s (%v)", b, err)
	}
}
