package queue

import (
	"context"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// benchQueue is a queue of an in-memory engine on the real clock, stopped
// when the benchmark ends.
func benchQueue(b *testing.B) *Queue {
	b.Helper()
	e, err := Open(context.Background(), Options{Clock: clock.Real{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Stop(context.Background()) })
	q, err := e.CreateQueue(context.Background(), "bench", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return q
}

// BenchmarkSendReceiveDelete is one message's way through the engine on
// the in-memory store: send, a receive that finds it at once, delete.
func BenchmarkSendReceiveDelete(b *testing.B) {
	ctx := context.Background()
	q := benchQueue(b)
	wait := 20 * time.Second
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Send(ctx, SendInput{Body: "a message of a few bytes"}); err != nil {
			b.Fatal(err)
		}
		ds, err := q.Receive(ctx, ReceiveInput{Max: 1, Wait: &wait})
		if err != nil || len(ds) != 1 {
			b.Fatal(ds, err)
		}
		if err := q.Delete(ctx, ds[0].ReceiptHandle); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLongPollWake is a parked long poll woken by a send: park,
// send, the answer.
func BenchmarkLongPollWake(b *testing.B) {
	ctx := context.Background()
	q := benchQueue(b)
	wait := 20 * time.Second
	b.ReportAllocs()
	for b.Loop() {
		parked := q.WaiterAdded()
		done := make(chan []Delivery, 1)
		go func() {
			ds, _ := q.Receive(ctx, ReceiveInput{Max: 1, Wait: &wait})
			done <- ds
		}()
		<-parked
		if _, err := q.Send(ctx, SendInput{Body: "wake"}); err != nil {
			b.Fatal(err)
		}
		ds := <-done
		if len(ds) != 1 {
			b.Fatal(ds)
		}
		if err := q.Delete(ctx, ds[0].ReceiptHandle); err != nil {
			b.Fatal(err)
		}
	}
}
