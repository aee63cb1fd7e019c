package pebblestore_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/store/pebblestore"
)

// BenchmarkCycle runs the store's side of a message's life with one
// message per call, as the queue server does for SendMessage,
// ReceiveMessage and DeleteMessage: a durable put, a lazy update, a lazy
// delete, from several concurrent callers. QSCALE_BENCH_DIR chooses the
// disk (default: the test's temporary directory).
func BenchmarkCycle(b *testing.B) {
	for _, callers := range []int{1, 16} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			dir := b.TempDir()
			if base := os.Getenv("QSCALE_BENCH_DIR"); base != "" {
				d, err := os.MkdirTemp(base, "store-")
				if err != nil {
					b.Fatal(err)
				}
				defer os.RemoveAll(d)
				dir = d
			}
			st, err := pebblestore.Open(dir, pebblestore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			body := string(make([]byte, 256))
			var next atomic.Uint64
			var durable atomic.Int64 // nanoseconds spent in durable commits
			var wg sync.WaitGroup
			b.ResetTimer()
			for range callers {
				wg.Go(func() {
					for {
						seq := next.Add(1)
						if seq > uint64(b.N) {
							return
						}
						m := &queue.Message{Seq: seq, ID: "id", Body: body, SentAt: time.Now()}
						t := time.Now()
						if err := st.Commit(ctx, []queue.Op{{Kind: queue.OpPutMessage, QueueID: 1, Message: m}}, true); err != nil {
							b.Error(err)
							return
						}
						durable.Add(int64(time.Since(t)))
						st.Commit(ctx, []queue.Op{{Kind: queue.OpUpdateMessage, QueueID: 1, Message: m, State: queue.MessageState{ReceiveCount: 1}}}, false)
						st.Commit(ctx, []queue.Op{{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: seq}}, false)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			b.ReportMetric(float64(durable.Load())/float64(b.N)/1e6, "put-ms")
		})
	}
}
