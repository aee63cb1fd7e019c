package failwatch_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/failwatch"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/worker/workerstatus"
)

func tick(at time.Time, desired, visible int, workers ...autoscale.WorkerCounters) autoscale.Decision {
	return autoscale.Decision{Time: at, From: desired, To: desired, Observation: autoscale.Observation{
		Queue: autoscale.QueueStats{Visible: visible, ArrivalRate: 20, CompletionRate: 5, ProcessingTime: 200 * time.Millisecond},
		Fleet: autoscale.FleetState{Desired: desired, Running: desired, Sensors: &autoscale.Sensors{Workers: workers}},
	}}
}

func kinds(r dashboard.Failures) string {
	var ks []string
	for _, w := range r.Warnings {
		ks = append(ks, w.Kind)
	}
	return strings.Join(ks, ",")
}

// dlq is a dead-letter queue whose depth the test sets.
type dlq struct{ r failwatch.DeadLetterReading }

func (d *dlq) DeadLetters() failwatch.DeadLetterReading { return d.r }

// The watch warns when the fleet sits at its maximum while the backlog
// grows for longer than WarnAfter, and when handlers fail more than they
// succeed, once each at warn; each warning ends, at info, when its
// condition does. The report carries the dead-letter queue's reading.
func TestWatchWarnings(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	dl := &dlq{}
	w := failwatch.New(failwatch.Options{Max: 4, WarnAfter: 30 * time.Second, DeadLetters: dl,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t0 := time.Unix(1_000_000, 0)
	ok := func(s, f uint64) autoscale.WorkerCounters {
		return autoscale.WorkerCounters{ID: "w1", Succeeded: s, Completed: s + f, Failed: f}
	}
	var r dashboard.Failures
	for i := range 31 {
		r = w.Observe(tick(t0.Add(time.Duration(i)*time.Second), 4, 100+10*i, ok(uint64(10*i), 0)))
		if i < 30 && len(r.Warnings) > 0 {
			t.Fatalf("warned after %d s at the maximum: %+v", i, r.Warnings)
		}
	}
	if kinds(r) != dashboard.WarnAtMax || !strings.Contains(r.Warnings[0].Text, "maximum of 4 workers for 30s and the backlog grew from 100 to 400") ||
		!r.Warnings[0].Since.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("warnings at the maximum: %+v", r.Warnings)
	}
	if r = w.Observe(tick(t0.Add(31*time.Second), 3, 410, ok(310, 0))); len(r.Warnings) != 0 {
		t.Fatalf("warnings below the maximum: %+v", r.Warnings)
	}
	dl.r = failwatch.DeadLetterReading{Queue: "jobs-dlq", Messages: 7}
	fail := ok(310, 0)
	for i := 32; i <= 62; i++ {
		fail.Failed++
		fail.Completed++
		fail.Errors = []workerstatus.HandlerError{{Time: t0.Add(time.Duration(i) * time.Second), Error: "handler command exited 3", Stderr: "trace\nboom\n"}}
		r = w.Observe(tick(t0.Add(time.Duration(i)*time.Second), 3, 0, fail))
	}
	if kinds(r) != dashboard.WarnFailing || !strings.Contains(r.Warnings[0].Text, "30 failed, 0 succeeded in the last 30s; last error: w1: handler command exited 3: boom") ||
		!strings.Contains(r.Warnings[0].Text, "moved to jobs-dlq (7 there now)") {
		t.Fatalf("warnings while failing: %+v", r.Warnings)
	}
	if r.Failed != 31 || r.Succeeded != 310 || r.FailureRate != 1 || r.DeadLetterQueue != "jobs-dlq" || r.DeadLetterMessages != 7 {
		t.Fatalf("report %+v", r)
	}
	for i := 63; i < 95; i++ {
		r = w.Observe(tick(t0.Add(time.Duration(i)*time.Second), 3, 0, fail))
	}
	if len(r.Warnings) != 0 || r.FailureRate != 0 {
		t.Fatalf("warnings after the failures stopped: %+v (rate %v)", r.Warnings, r.FailureRate)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Fatalf("%d warn lines, want one per warning:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "warning cleared"); n != 2 {
		t.Fatalf("%d cleared lines, want 2:\n%s", n, logs.String())
	}

	// The collector exports the report with the fleet and queue labels.
	c := failwatch.NewCollector()
	c.Add("web", "jobs", w.Report)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `
# HELP qscale_handler_failures_total Handler calls that failed, over the fleet's workers.
# TYPE qscale_handler_failures_total counter
qscale_handler_failures_total{fleet="web",queue="jobs"} 31
# HELP qscale_dead_letter_messages Messages the fleet's dead-letter queue holds.
# TYPE qscale_dead_letter_messages gauge
qscale_dead_letter_messages{dead_letter_queue="jobs-dlq",fleet="web",queue="jobs"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "qscale_handler_failures_total", "qscale_dead_letter_messages"); err != nil {
		t.Fatal(err)
	}
}

// A reloaded maximum counts from the next decision: the fleet at its old
// maximum is no longer at the new one.
func TestWatchSetMax(t *testing.T) {
	t.Parallel()
	w := failwatch.New(failwatch.Options{Max: 2, WarnAfter: time.Second})
	t0 := time.Unix(1_000_000, 0)
	var r dashboard.Failures
	for i := range 3 {
		r = w.Observe(tick(t0.Add(time.Duration(i)*time.Second), 2, 10+i))
	}
	if kinds(r) != dashboard.WarnAtMax {
		t.Fatalf("at the maximum of 2 with a growing backlog: %+v", r.Warnings)
	}
	w.SetMax(3)
	if r = w.Observe(tick(t0.Add(3*time.Second), 2, 13)); len(r.Warnings) != 0 {
		t.Fatalf("below the new maximum of 3: %+v", r.Warnings)
	}
}
