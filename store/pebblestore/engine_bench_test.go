package pebblestore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/store/pebblestore"
)

// BenchmarkEngineCycle is the engine's own cost of a message's life at a
// small backlog, over a Pebble store on disk: 4 goroutines per core each
// send one message of 1 KiB (durable), receive up to 10 and delete what
// they received. One op is one message sent, received and deleted. The
// same over the in-memory store shows the engine's CPU cost alone.
//
//	go test -run '^$' -bench EngineCycle -benchtime 20000x ./store/pebblestore/
func BenchmarkEngineCycle(b *testing.B) {
	b.Run("store=pebble", func(b *testing.B) {
		st, err := pebblestore.Open(b.TempDir(), pebblestore.Options{MinFreeBytes: -1})
		if err != nil {
			b.Fatal(err)
		}
		engineCycle(b, st)
	})
	b.Run("store=memory", func(b *testing.B) { engineCycle(b, nil) })
}

func engineCycle(b *testing.B, st queue.Store) {
	ctx := context.Background()
	e, err := queue.Open(ctx, queue.Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop(ctx)
	q, err := e.CreateQueue(ctx, "cycle", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1024)
	zero := time.Duration(0)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		in := make([]queue.SendInput, 10)
		for i := range in {
			in[i].Body = body
		}
		handles := make([]string, 0, 10)
		for pb.Next() {
			for _, o := range q.SendBatch(ctx, in[:1]) {
				if o.Err != nil {
					b.Error(o.Err)
					return
				}
			}
			ds, err := q.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &zero})
			if err != nil {
				b.Error(err)
				return
			}
			handles = handles[:0]
			for _, d := range ds {
				if len(d.Body) != len(body) {
					b.Errorf("received a body of %d bytes", len(d.Body))
					return
				}
				handles = append(handles, d.ReceiptHandle)
			}
			if len(handles) > 0 {
				q.DeleteBatch(ctx, handles)
			}
		}
	})
}
