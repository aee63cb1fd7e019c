package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// BenchmarkSweep measures what a retention sweep costs a queue holding 1M
// messages: ns/op is one sweep (Engine.Sweep's loop, timed batch by
// batch), lock-ms the longest the sweep held the queue's lock at once (what
// a send waits at worst), and stall-ms the longest any other call on the
// queue (here Counts, which takes the lock as a send does) took during the
// sweeps, scheduling and GC included. With expired=0 nothing is due; with
// expired=10000 that many messages are past their retention each sweep.
//
//	go test -run '^$' -bench Sweep -benchtime 5x ./queue/
func BenchmarkSweep(b *testing.B) {
	for _, expired := range []int{0, 10000} {
		b.Run(fmt.Sprintf("depth=1M/expired=%d", expired), func(b *testing.B) {
			const depth = 1_000_000
			ctx := context.Background()
			start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			clk := clock.NewFake(start)
			e, err := Open(ctx, Options{Clock: clk})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Stop(ctx)
			q, err := e.CreateQueue(ctx, "deep", map[string]string{"MessageRetentionPeriod": "60"}, nil)
			if err != nil {
				b.Fatal(err)
			}
			in := make([]SendInput, 10)
			for i := range in {
				in[i].Body = "x"
			}
			// With expired > 0, messages are sent in steps of `expired`, one
			// millisecond apart, and each sweep comes a millisecond later
			// than the last: one step is due each time.
			sent := 0
			for sent < depth {
				for i := 0; (expired == 0 || i < expired) && sent < depth; i += len(in) {
					q.SendBatch(ctx, in)
					sent += len(in)
				}
				clk.Advance(time.Millisecond)
			}
			if expired > 0 {
				clk.Set(start.Add(60*time.Second - time.Millisecond))
			}
			if b.N > depth/max(expired, 1) {
				b.Fatalf("at most %d sweeps", depth/max(expired, 1))
			}
			b.ResetTimer()
			var stall atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					t0 := time.Now()
					q.Counts()
					if d := time.Since(t0).Nanoseconds(); d > stall.Load() {
						stall.Store(d)
					}
				}
			}()
			var hold time.Duration
			for i := 0; i < b.N; i++ {
				if expired > 0 {
					clk.Advance(time.Millisecond)
				}
				for {
					t0 := time.Now()
					ops, more := q.sweepBatchLocking(clk.Now())
					hold = max(hold, time.Since(t0))
					if len(ops) > 0 {
						e.store.Commit(ctx, ops, false)
					}
					if !more {
						break
					}
				}
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(hold.Microseconds())/1e3, "lock-ms")
			b.ReportMetric(float64(stall.Load())/1e6, "stall-ms")
		})
	}
}
