package worker_test

import (
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker"
)

// A MultiQueue takes from whichever queue has messages, in turn, and
// deletes each message from the queue that gave it.
func TestMultiQueueServesEveryQueue(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Unix(0, 0))
	a, b := newMemQueue(clk), newMemQueue(clk)
	mq, err := worker.NewMultiQueue(a, b)
	if err != nil {
		t.Fatal(err)
	}
	b.send("from b")
	ms, err := mq.Receive(t.Context(), worker.ReceiveRequest{Max: 10, Visibility: time.Minute})
	if err != nil || len(ms) != 1 || ms[0].Body != "from b" {
		t.Fatalf("first receive: %v %v", ms, err)
	}
	a.send("from a")
	ms2, err := mq.Receive(t.Context(), worker.ReceiveRequest{Max: 10, Visibility: time.Minute})
	if err != nil || len(ms2) != 1 || ms2[0].Body != "from a" {
		t.Fatalf("second receive: %v %v", ms2, err)
	}
	if err := mq.DeleteBatch(t.Context(), []string{ms[0].ReceiptHandle, ms2[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if a.remaining() != 0 || b.remaining() != 0 {
		t.Fatalf("left: a %d, b %d", a.remaining(), b.remaining())
	}
	if err := mq.DeleteBatch(t.Context(), []string{"7|nope"}); err == nil {
		t.Fatal("a handle of no queue was accepted")
	}
}
