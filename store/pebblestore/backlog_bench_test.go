package pebblestore_test

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/store/pebblestore"
)

// BenchmarkBacklog fills one standard queue with QSCALE_BACKLOG_N messages
// of 1 KiB (default 100000) through the engine over a Pebble store, then
// reports what the backlog costs in memory and how long a restart takes.
// One op is one restart: Load of the whole backlog (index only). Metrics:
//
//	heap-B/msg  live heap per queued message after the fill (cache included)
//	idx-B/msg   live heap per queued message after the restart (the index)
//	rss-MiB     resident size of the process after the restart and a GC
//	load-s      seconds a restart takes (pebblestore.Open + queue.Open)
//
// QSCALE_BACKLOG_DIR keeps the store in that directory instead of a
// temporary one (it must not exist; it is left behind).
// QSCALE_BACKLOG_BODIES=random gives every message a body of its own, 1 KiB
// of random letters, digits, '+' and '/' (6 bits a byte, as base64-encoded
// payloads are): Pebble's compression then saves a quarter, not nearly
// all, and the disk holds the whole backlog. The default is one repeated
// byte.
//
//	QSCALE_BACKLOG_N=1000000 go test -run '^$' -bench Backlog -benchtime 1x ./store/pebblestore/
func BenchmarkBacklog(b *testing.B) {
	n := 100_000
	if v := os.Getenv("QSCALE_BACKLOG_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("QSCALE_BACKLOG_N=%q: want a positive count", v)
		}
	}
	dir := os.Getenv("QSCALE_BACKLOG_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	ctx := context.Background()
	open := func() *queue.Engine {
		st, err := pebblestore.Open(dir, pebblestore.Options{MinFreeBytes: -1})
		if err != nil {
			b.Fatal(err)
		}
		e, err := queue.Open(ctx, queue.Options{Store: st})
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	e := open()
	q, err := e.CreateQueue(ctx, "backlog", map[string]string{"MessageRetentionPeriod": "1209600"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1024)
	random := false
	switch v := os.Getenv("QSCALE_BACKLOG_BODIES"); v {
	case "", "repeated":
	case "random":
		random = true
	default:
		b.Fatalf("QSCALE_BACKLOG_BODIES=%q: want random or repeated", v)
	}
	const senders = 16
	var wg sync.WaitGroup
	per := (n + senders - 1) / senders
	fillStart := time.Now()
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := make([]queue.SendInput, 10)
			for i := range in {
				in[i].Body = body
			}
			rng := rand.New(rand.NewPCG(uint64(s), 1))
			buf := make([]byte, 1024)
			for sent := 0; sent < per && s*per+sent < n; sent += len(in) {
				k := min(len(in), per-sent, n-s*per-sent)
				if random {
					for i := range in[:k] {
						for j := range buf {
							buf[j] = base64Letters[rng.IntN(len(base64Letters))]
						}
						in[i].Body = string(buf)
					}
				}
				for _, o := range q.SendBatch(ctx, in[:k]) {
					if o.Err != nil {
						b.Error(o.Err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	fill := time.Since(fillStart)
	if got := q.Counts().Visible; got != n {
		b.Fatalf("%d messages queued, want %d", got, n)
	}
	heapFill := liveHeap()
	if err := e.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	e = nil
	liveHeap()
	var load time.Duration
	var idxHeap uint64
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		e = open()
		load = time.Since(start)
		q, err := e.Queue("backlog")
		if err != nil || q.Counts().Visible != n {
			b.Fatalf("after a restart: %v, %+v", err, q.Counts())
		}
		idxHeap = liveHeap()
		if err := e.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(heapFill)/float64(n), "heap-B/msg")
	b.ReportMetric(float64(idxHeap)/float64(n), "idx-B/msg")
	b.ReportMetric(float64(rss())/(1<<20), "rss-MiB")
	b.ReportMetric(load.Seconds(), "load-s")
	b.Logf("%d messages: filled in %v (%.0f msg/s); restart %v; heap after fill %d MiB, after restart %d MiB; rss %d MiB",
		n, fill.Round(time.Millisecond), float64(n)/fill.Seconds(), load.Round(time.Millisecond), heapFill>>20, idxHeap>>20, rss()>>20)
}

const base64Letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// liveHeap collects garbage and returns the bytes still in use.
func liveHeap() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// rss returns the process's resident set size in bytes, 0 where it
// cannot be read.
func rss() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
