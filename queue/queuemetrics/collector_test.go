package queuemetrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/queue/queuemetrics"
)

func TestCollectorReadsTheEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e, err := queue.Open(ctx, queue.Options{Store: queue.MemoryStore{}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.CreateQueue(ctx, "jobs", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := q.Send(ctx, queue.SendInput{Body: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(90 * time.Second)
	if _, err := q.Receive(ctx, queue.ReceiveInput{Max: 1}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP qscale_queue_messages Messages in a queue by state: visible, in_flight, delayed (SQS's ApproximateNumberOfMessages*).
# TYPE qscale_queue_messages gauge
qscale_queue_messages{queue="jobs",state="delayed"} 0
qscale_queue_messages{queue="jobs",state="in_flight"} 1
qscale_queue_messages{queue="jobs",state="visible"} 2
# HELP qscale_queue_oldest_message_age_seconds Age of the oldest message that is not in flight (0 when there is none).
# TYPE qscale_queue_oldest_message_age_seconds gauge
qscale_queue_oldest_message_age_seconds{queue="jobs"} 90
`
	c := queuemetrics.New(e)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "qscale_queue_messages", "qscale_queue_oldest_message_age_seconds"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c, "qscale_queue_messages_total"); n != 5 {
		t.Errorf("%d totals, want one per event (5)", n)
	}
}
