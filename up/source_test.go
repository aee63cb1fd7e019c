package up

import (
	"context"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

func newTestQueue(t *testing.T, clk clock.Clock) *queue.Queue {
	t.Helper()
	ctx := t.Context()
	e, err := queue.Open(ctx, queue.Options{Clock: clk, Store: queue.MemoryStore{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	q, err := e.CreateQueue(ctx, "jobs", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func send(t *testing.T, q *queue.Queue, n int) {
	t.Helper()
	for range n {
		if _, err := q.Send(t.Context(), queue.SendInput{Body: "x"}); err != nil {
			t.Fatal(err)
		}
	}
}

// receiveDelete receives n messages and deletes them.
func receiveDelete(t *testing.T, q *queue.Queue, n int) {
	t.Helper()
	zero := time.Duration(0)
	for n > 0 {
		ds, err := q.Receive(t.Context(), queue.ReceiveInput{Max: min(n, 10), Wait: &zero})
		if err != nil || len(ds) == 0 {
			t.Fatalf("receive: %d messages, %v", len(ds), err)
		}
		for _, d := range ds {
			if err := q.Delete(t.Context(), d.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
		n -= len(ds)
	}
}

func TestEngineSourceRatesAndProcessingTime(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	q := newTestQueue(t, clk)
	ctx := t.Context()
	// Five messages stay in flight throughout.
	send(t, q, 5)
	zero := time.Duration(0)
	if ds, err := q.Receive(ctx, queue.ReceiveInput{Max: 5, Wait: &zero}); err != nil || len(ds) != 5 {
		t.Fatalf("receive: %d, %v", len(ds), err)
	}
	src := NewEngineSource(q, clk, 10*time.Second)
	st, err := src.Observe(ctx)
	if err != nil || st.InFlight != 5 || st.ArrivalRate != 0 || st.ProcessingTime != 0 {
		t.Fatalf("first reading: %+v, %v", st, err)
	}
	// Each second 20 messages arrive and 10 complete: Little's law gives
	// 5 in flight / 10 per second = 500 ms in flight.
	for range 10 {
		clk.Advance(time.Second)
		send(t, q, 20)
		receiveDelete(t, q, 10)
		if st, err = src.Observe(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st.ArrivalRate != 20 || st.CompletionRate != 10 {
		t.Fatalf("rates: arrival %v, completion %v; want 20 and 10", st.ArrivalRate, st.CompletionRate)
	}
	if st.ProcessingTime != 500*time.Millisecond {
		t.Fatalf("processing time %v, want 500ms", st.ProcessingTime)
	}
	// The deletes took the oldest first: what is left was sent from the
	// sixth second on.
	if st.Visible != 100 || st.OldestAge != 4*time.Second {
		t.Fatalf("visible %d, oldest %v; want 100 and 4s", st.Visible, st.OldestAge)
	}
	// The window slides: after 10 quiet seconds the rates fall to 0.
	for range 11 {
		clk.Advance(time.Second)
		if st, err = src.Observe(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st.ArrivalRate != 0 || st.CompletionRate != 0 || st.ProcessingTime != 0 {
		t.Fatalf("after a quiet window: %+v", st)
	}
	if len(src.readings) > 12 {
		t.Fatalf("%d readings kept for a 10 s window of 1 s readings", len(src.readings))
	}
}

func TestEngineSourceHonoursContext(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	src := NewEngineSource(newTestQueue(t, clk), clk, 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := src.Observe(ctx); err == nil {
		t.Fatal("Observe with a cancelled context succeeded")
	}
	if src.win != 10*time.Second {
		t.Fatalf("default window %v", src.win)
	}
}
