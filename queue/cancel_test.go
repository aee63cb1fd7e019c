package queue

import (
	"context"
	"testing"
)

// A receive whose caller has gone (a worker stopping cancels its long poll)
// takes nothing: a message handed to it would stay invisible until its
// visibility timeout, with no one holding it.
func TestReceiveWithCancelledContextTakesNothing(t *testing.T) {
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
}
