package failwatch_test

import (
	"fmt"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/failwatch"
	"github.com/qscale/qscale/worker/workerstatus"
)

// A watch fed with each decision: here a worker whose handler failed four
// times and never succeeded, and a dead-letter queue holding two messages.
func ExampleWatch() {
	w := failwatch.New(failwatch.Options{Max: 5, DeadLetters: &dlq{failwatch.DeadLetterReading{Queue: "jobs-dlq", Messages: 2}}})
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	w.Observe(tick(t0, 1, 0, autoscale.WorkerCounters{ID: "w1"}))
	r := w.Observe(tick(t0.Add(2*time.Second), 1, 0, autoscale.WorkerCounters{ID: "w1", Failed: 4, Completed: 4,
		Errors: []workerstatus.HandlerError{{Time: t0.Add(time.Second), Error: "handler command exited 3", Stderr: "bad input\n"}}}))
	fmt.Printf("%d failed, %.0f/s, %s holds %d\n", r.Failed, r.FailureRate, r.DeadLetterQueue, r.DeadLetterMessages)
	fmt.Println(r.Warnings[0].Text)
	// Output:
	// 4 failed, 2/s, jobs-dlq holds 2
	// handlers fail more than they succeed: 4 failed, 0 succeeded in the last 30s; last error: w1: handler command exited 3: bad input; failed messages are retried, then moved to jobs-dlq (2 there now)
}
