package queue

import (
	"testing"
	"time"
)

// TestSweepDropsExpiredInBatches expires more messages than one sweep
// batch holds, with one of them in flight: a sweep drops every expired
// message that is not in flight, and the in-flight one once it is visible
// again.
func TestSweepDropsExpiredInBatches(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "r", map[string]string{"MessageRetentionPeriod": "60", "VisibilityTimeout": "120"})
		const old = 3*sweepBatch + 7
		in := make([]SendInput, 10)
		for i := range in {
			in[i].Body = "old"
		}
		for i := 0; i < old/10; i++ {
			q.SendBatch(ctx, in)
		}
		for i := 0; i < old%10; i++ {
			send(t, q, SendInput{Body: "old"})
		}
		if got := receive(t, q, 1); len(got) != 1 {
			t.Fatalf("received %d", len(got))
		}
		clk.Advance(30 * time.Second)
		send(t, q, SendInput{Body: "young"})
		clk.Advance(31 * time.Second)

		e.Sweep(ctx)
		if c := q.Counts(); c != (Counts{Visible: 1, Inflight: 1}) {
			t.Fatalf("after the first sweep: %+v, want the young message and the one in flight", c)
		}
		if s := q.Stats(); s.Expired != old-1 {
			t.Fatalf("expired %d, want %d", s.Expired, old-1)
		}
		clk.Advance(90 * time.Second) // the in-flight one is visible again; the young one expired too
		e.Sweep(ctx)
		if c := q.Counts(); c != (Counts{}) {
			t.Fatalf("after the second sweep: %+v, want none", c)
		}
		if s := q.Stats(); s.Expired != old+1 {
			t.Fatalf("expired %d, want %d", s.Expired, old+1)
		}
	})
}

// TestSweepKeepsDeadLetteredMessagesOriginalTime checks the expiry index
// after a move to a dead-letter queue: a standard queue keeps the
// original enqueue time, so a moved message expires on the source's clock.
func TestSweepKeepsDeadLetteredMessagesOriginalTime(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		dlq := mustQueue(t, e, "dlq", map[string]string{"MessageRetentionPeriod": "120"})
		src := mustQueue(t, e, "src", map[string]string{
			"VisibilityTimeout": "10",
			"RedrivePolicy":     `{"deadLetterTargetArn":"` + dlq.ARN() + `","maxReceiveCount":"1"}`,
		})
		send(t, src, SendInput{Body: "poison"})
		receive(t, src, 1)
		clk.Advance(11 * time.Second)
		receive(t, src, 1) // over maxReceiveCount: moved
		if c := dlq.Counts(); c.Visible != 1 {
			t.Fatalf("dead-letter queue: %+v", c)
		}
		clk.Advance(100 * time.Second) // 111 s after the send: not yet
		e.Sweep(ctx)
		if c := dlq.Counts(); c.Visible != 1 {
			t.Fatalf("swept too early: %+v", c)
		}
		clk.Advance(10 * time.Second) // 121 s
		e.Sweep(ctx)
		if c := dlq.Counts(); c.Visible != 0 {
			t.Fatalf("not swept: %+v", c)
		}
	})
}
