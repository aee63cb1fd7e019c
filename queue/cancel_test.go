package queue

import (
	"context"
	"testing"
	"time"
)

// A receive whose caller has gone (a worker stopping cancels its long poll)
// takes nothing: a message handed to it would stay invisible until its
// visibility timeout, with no one holding it.
func TestReceiveWithCancelledContextTakesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, _ := setup(t)
		q, err := e.CreateQueue(ctx, "jobs", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Send(ctx, SendInput{Body: "x"}); err != nil {
			t.Fatal(err)
		}
		gone, cancel := context.WithCancel(ctx)
		cancel()
		ds, err := q.Receive(gone, ReceiveInput{Max: 10})
		if err != nil || len(ds) != 0 {
			t.Fatalf("receive with a cancelled context: %d messages, %v", len(ds), err)
		}
		if c := q.Counts(); c.Visible != 1 || c.Inflight != 0 {
			t.Fatalf("counts after the abandoned receive: %+v; want the message still visible", c)
		}
		if st := q.Stats(); st.Received != 0 {
			t.Fatalf("received counter %d, want 0", st.Received)
		}
	})
}

// Return undoes a receive whose answer was lost: the messages are visible
// at once, as if never received (receive count, totals, FIFO group lock).
func TestReturnUndoesAReceive(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		for _, name := range []string{"std", "f.fifo"} {
			attrs := map[string]string(nil)
			if name == "f.fifo" {
				attrs = map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}
			}
			q := mustQueue(t, e, name, attrs)
			for _, body := range []string{"a", "b"} {
				if _, err := q.Send(ctx, SendInput{Body: body, GroupID: groupFor(name)}); err != nil {
					t.Fatal(err)
				}
			}
			zero := time.Duration(0)
			ds, err := q.Receive(ctx, ReceiveInput{Max: 10, Wait: &zero})
			if err != nil || len(ds) != 2 {
				t.Fatalf("%s: receive %d, %v", name, len(ds), err)
			}
			clk.Advance(time.Second)
			q.Return(ctx, ds)
			if c := q.Counts(); c.Visible != 2 || c.Inflight != 0 {
				t.Fatalf("%s: counts after Return %+v", name, c)
			}
			if st := q.Stats(); st.Received != 0 {
				t.Fatalf("%s: received total %d after Return, want 0", name, st.Received)
			}
			again, err := q.Receive(ctx, ReceiveInput{Max: 10, Wait: &zero})
			if err != nil || len(again) != 2 {
				t.Fatalf("%s: receive after Return: %d, %v", name, len(again), err)
			}
			for _, d := range again {
				if d.State.ReceiveCount != 1 || !d.State.FirstReceiveAt.Equal(clk.Now()) {
					t.Fatalf("%s: receive count %d, first receive %v after Return; want 1 and now", name, d.State.ReceiveCount, d.State.FirstReceiveAt)
				}
			}
			// The first delivery's receipts are stale now: Return ignores them.
			q.Return(ctx, ds)
			if c := q.Counts(); c.Inflight != 2 {
				t.Fatalf("%s: a stale Return changed the messages: %+v", name, c)
			}
		}
	})
}

func groupFor(queue string) string {
	if queue == "f.fifo" {
		return "g"
	}
	return ""
}
