package storebench

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type candidate struct {
	name string
	open func(dir string) (Store, error)
}

var (
	allStores = []candidate{
		{"pebble", openPebble},
		{"bbolt-update", openBolt(boltUpdate)},
		{"bbolt-batch", openBolt(boltBatch)},
		{"bbolt-group", openBolt(boltGroup)},
		{"sqlite", openSQLite},
		{"applog", openAppLog},
	}
	// bbolt-update and bbolt-batch write the same file format as bbolt-group,
	// so recovery and space are measured once for bbolt.
	formatStores = []candidate{allStores[0], allStores[3], allStores[4], allStores[5]}
)

// dataDir returns a fresh directory on a real disk. The test temp dir is used
// when it is not on tmpfs (checked once); otherwise a directory under /work.
func dataDir(tb testing.TB) string {
	tb.Helper()
	if !tmpIsDisk() {
		d, err := os.MkdirTemp("/work", "storebench-")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return tb.TempDir()
}

var tmpIsDisk = sync.OnceValue(func() bool {
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return false
	}
	best, fstype := "", ""
	tmp := os.TempDir()
	for _, line := range splitLines(string(mounts)) {
		var dev, mnt, typ string
		if _, err := fmt.Sscan(line, &dev, &mnt, &typ); err != nil {
			continue
		}
		if (tmp == mnt || len(tmp) > len(mnt) && tmp[:len(mnt)] == mnt && (mnt == "/" || tmp[len(mnt)] == '/')) && len(mnt) > len(best) {
			best, fstype = mnt, typ
		}
	}
	return fstype != "tmpfs" && fstype != "ramfs"
})

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

func openStore(tb testing.TB, c candidate, dir string) Store {
	tb.Helper()
	s, err := c.open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// randomBodies returns 64 distinct incompressible bodies of n bytes; messages
// take body id%64, so neighbouring records never repeat each other and a
// compressing store (pebble's snappy blocks) gains nothing it would not gain
// on real payloads.
func randomBodies(n int) [][]byte {
	r := rand.NewChaCha8([32]byte{1})
	out := make([][]byte, 64)
	for i := range out {
		out[i] = make([]byte, n)
		r.Read(out[i])
	}
	return out
}

func dirBytes(tb testing.TB, dir string) int64 {
	tb.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return total
}

type load struct {
	bodies    [][]byte
	batch     int
	producers int
	msgs      int  // total messages
	cycle     bool // receive and delete every message after its send
}

// run drives s with l and returns the elapsed time and every Send latency.
func run(tb testing.TB, s Store, l load, firstID uint64) (time.Duration, []time.Duration) {
	calls := (l.msgs + l.batch - 1) / l.batch
	var next atomic.Int64
	lats := make([][]time.Duration, l.producers)
	var wg sync.WaitGroup
	start := time.Now()
	for p := range l.producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := make([]Msg, l.batch)
			for {
				c := next.Add(1) - 1
				if c >= int64(calls) {
					return
				}
				for i := range msgs {
					id := firstID + uint64(c)*uint64(l.batch) + uint64(i)
					msgs[i] = Msg{ID: id, Body: l.bodies[id%uint64(len(l.bodies))]}
				}
				t0 := time.Now()
				if err := s.Send(msgs); err != nil {
					tb.Error(err)
					return
				}
				lats[p] = append(lats[p], time.Since(t0))
				if !l.cycle {
					continue
				}
				deadline := time.Now().Add(30 * time.Second).UnixNano()
				for _, m := range msgs {
					if err := s.Receive(m.ID, 1, deadline); err != nil {
						tb.Error(err)
						return
					}
				}
				for _, m := range msgs {
					if err := s.Delete(m.ID); err != nil {
						tb.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if l.cycle {
		if err := s.Flush(); err != nil {
			tb.Error(err)
		}
	}
	elapsed := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	return elapsed, all
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func benchLoad(b *testing.B, c candidate, l load) {
	s := openStore(b, c, dataDir(b))
	defer s.Close()
	l.msgs = b.N
	b.SetBytes(int64(len(l.bodies[0])))
	b.ResetTimer()
	elapsed, lats := run(b, s, l, 1)
	b.StopTimer()
	sent := ((l.msgs + l.batch - 1) / l.batch) * l.batch
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(pct(lats, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(lats, 0.99).Microseconds())/1000, "p99-ms")
}

var bodySizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// BenchmarkSend measures durable sends: b.N messages, every Send fsynced.
func BenchmarkSend(b *testing.B) {
	for _, c := range allStores {
		for _, bs := range bodySizes {
			bodies := randomBodies(bs.n)
			for _, batch := range []int{1, 10} {
				for _, prod := range []int{1, 8, 32} {
					b.Run(fmt.Sprintf("%s/body=%s/batch=%d/prod=%d", c.name, bs.name, batch, prod), func(b *testing.B) {
						benchLoad(b, c, load{bodies: bodies, batch: batch, producers: prod})
					})
				}
			}
		}
	}
}

// BenchmarkCycle measures the full life of a message: durable send, lazy
// receive, lazy delete, with a final Flush inside the timing.
func BenchmarkCycle(b *testing.B) {
	bodies := randomBodies(1 << 10)
	for _, c := range allStores {
		for _, batch := range []int{1, 10} {
			for _, prod := range []int{8, 32} {
				b.Run(fmt.Sprintf("%s/body=1KiB/batch=%d/prod=%d", c.name, batch, prod), func(b *testing.B) {
					benchLoad(b, c, load{bodies: bodies, batch: batch, producers: prod, cycle: true})
				})
			}
		}
	}
}

const recoverMsgs = 100_000

// prepared holds, per store, a closed data dir with recoverMsgs live messages
// (half of them received), built once per process.
var prepared sync.Map

func TestMain(m *testing.M) {
	code := m.Run()
	prepared.Range(func(_, d any) bool {
		os.RemoveAll(d.(string))
		return true
	})
	os.Exit(code)
}

func preparedDir(b *testing.B, c candidate) string {
	if d, ok := prepared.Load(c.name); ok {
		return d.(string)
	}
	base := "/work"
	if tmpIsDisk() {
		base = os.TempDir()
	}
	d, err := os.MkdirTemp(base, "storebench-prepared-")
	if err != nil {
		b.Fatal(err)
	}
	s := openStore(b, c, d)
	msgs := make([]Msg, 0, 1000)
	bodies := randomBodies(1 << 10)
	for id := uint64(1); id <= recoverMsgs; id++ {
		msgs = append(msgs, Msg{ID: id, Body: bodies[id%uint64(len(bodies))]})
		if len(msgs) == cap(msgs) {
			if err := s.Send(msgs); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	for id := uint64(1); id <= recoverMsgs; id += 2 {
		if err := s.Receive(id, 1, 12345); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	prepared.Store(c.name, d)
	return d
}

func copyDir(b *testing.B, src, dst string) {
	ents, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecover measures open + reading every live message into memory,
// for 100,000 live 1 KiB messages (page cache warm: the files were just copied).
func BenchmarkRecover(b *testing.B) {
	for _, c := range formatStores {
		b.Run(c.name, func(b *testing.B) {
			src := preparedDir(b, c)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				dst := dataDir(b)
				copyDir(b, src, dst)
				b.StartTimer()
				s := openStore(b, c, dst)
				n, received := 0, 0
				if err := s.Recover(func(m Msg) {
					n++
					if m.Received == 1 {
						received++
					}
				}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if n != recoverMsgs || received != recoverMsgs/2 {
					b.Fatalf("recovered %d messages, %d received; want %d, %d", n, received, recoverMsgs, recoverMsgs/2)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

const spaceMsgs = 200_000

// BenchmarkSpace sends 200,000 1 KiB messages (8 producers, batches of 10),
// then receives and deletes them all, and reports the bytes on disk: at the
// peak (all sent), after the deletes and Close, and after an explicit
// compaction where the store has one. Run with -benchtime=1x.
func BenchmarkSpace(b *testing.B) {
	for _, c := range formatStores {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				dir := dataDir(b)
				s := openStore(b, c, dir)
				run(b, s, load{bodies: randomBodies(1 << 10), batch: 10, producers: 8, msgs: spaceMsgs}, 1)
				if err := s.Flush(); err != nil {
					b.Fatal(err)
				}
				peak := dirBytes(b, dir)
				for id := uint64(1); id <= spaceMsgs; id++ {
					if err := s.Receive(id, 1, 1); err != nil {
						b.Fatal(err)
					}
					if err := s.Delete(id); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Flush(); err != nil {
					b.Fatal(err)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
				b.ReportMetric(float64(dirBytes(b, dir))/(1<<20), "after-MiB")
				s = openStore(b, c, dir)
				after := -1.0
				if cp, ok := s.(Compacter); ok {
					if err := cp.Compact(); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				if _, ok := s.(Compacter); ok {
					after = float64(dirBytes(b, dir)) / (1 << 20)
				}
				b.ReportMetric(after, "compacted-MiB")
			}
		})
	}
}
