package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/store/pebblestore"
)

// damageMessages is how many acknowledged messages each damage test stores.
const damageMessages = 30000

// buildStore sends n messages through the engine, every one acknowledged,
// and returns the store's directory. With clean, the store is closed;
// without, the returned directory is a copy taken while it was open, as a
// crash would leave it.
func buildStore(t *testing.T, n int, clean bool) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := queue.Open(ctx, queue.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.CreateQueue(ctx, "q", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const senders, batch = 8, 10
	var wg sync.WaitGroup
	for w := 0; w < senders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/senders/batch; i++ {
				in := make([]queue.SendInput, batch)
				for j := range in {
					in[j].Body = fmt.Sprintf("message %d-%d-%d %0150d", w, i, j, 0)
				}
				for _, o := range q.SendBatch(ctx, in) {
					if o.Err != nil {
						t.Error(o.Err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if got := q.Counts().Visible; got != n {
		t.Fatalf("stored %d messages, want %d", got, n)
	}
	if clean {
		if err := e.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	crash := t.TempDir()
	copyDir(t, dir, crash)
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	return crash
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// files returns the names in dir ending in suffix, sorted.
func files(t *testing.T, dir, suffix string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), suffix) || strings.HasPrefix(e.Name(), suffix) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// newestWAL returns the write-ahead log Pebble writes to.
func newestWAL(t *testing.T, dir string) string {
	t.Helper()
	logs := files(t, dir, ".log")
	for _, name := range logs {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, fi.Size())
	}
	return logs[len(logs)-1]
}

func flipBytes(t *testing.T, path string, at float64, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := int(float64(len(b)) * at)
	for i := off; i < off+n && i < len(b); i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncateTo(t *testing.T, path string, frac float64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(float64(fi.Size())*frac)); err != nil {
		t.Fatal(err)
	}
}

// reopen opens dir as the server does, engine and all, and returns the
// message count or the error.
func reopen(t *testing.T, dir string, opts pebblestore.Options) (int, *pebblestore.Store, error) {
	t.Helper()
	ctx := context.Background()
	st, err := pebblestore.Open(dir, opts)
	if err != nil {
		return 0, nil, err
	}
	e, err := queue.Open(ctx, queue.Options{Store: st})
	if err != nil {
		st.Close()
		return 0, nil, err
	}
	defer e.Stop(ctx)
	q, err := e.Queue("q")
	if err != nil {
		return 0, st, err
	}
	return q.Counts().Visible, st, nil
}

// TestDamageStopsTheStart damages a copy of a cleanly closed store in each
// way a disk or an operator can, and checks that the store refuses to open
// with an error naming the damage, without a panic; then that a repair
// rebuilds it and reports how many messages were lost.
func TestDamageStopsTheStart(t *testing.T) {
	t.Parallel()
	dir := buildStore(t, damageMessages, true)
	cases := []struct {
		name     string
		damage   func(t *testing.T, dir string)
		want     string // in the error
		wantLost bool   // the repair loses messages
	}{
		{"flipped bytes in the newest table", func(t *testing.T, dir string) {
			ssts := files(t, dir, ".sst")
			flipBytes(t, filepath.Join(dir, ssts[len(ssts)-1]), 0.5, 16)
		}, "checksum mismatch", true},
		{"MANIFEST truncated", func(t *testing.T, dir string) {
			truncateTo(t, filepath.Join(dir, files(t, dir, "MANIFEST-")[0]), 0.5)
		}, "MANIFEST-000001 is truncated", true},
		{"write-ahead log truncated", func(t *testing.T, dir string) {
			truncateTo(t, filepath.Join(dir, newestWAL(t, dir)), 0.5)
		}, ".log is truncated", false},
		{"CURRENT deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "CURRENT")); err != nil {
				t.Fatal(err)
			}
		}, "CURRENT is missing", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			work := filepath.Join(t.TempDir(), "store")
			if err := os.Mkdir(work, 0o755); err != nil {
				t.Fatal(err)
			}
			copyDir(t, dir, work)
			c.damage(t, work)

			n, _, err := reopen(t, work, pebblestore.Options{})
			if !errors.Is(err, pebblestore.ErrDamaged) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("reopen of a damaged store: %d messages, err %v; want ErrDamaged naming %q", n, err, c.want)
			}
			t.Logf("refused: %v", err)
			// Refused again, with nothing changed by the refusal.
			if _, _, err := reopen(t, work, pebblestore.Options{}); !errors.Is(err, pebblestore.ErrDamaged) {
				t.Fatalf("second reopen: %v", err)
			}

			n, st, err := reopen(t, work, pebblestore.Options{Repair: true})
			if err != nil {
				t.Fatalf("repair: %v", err)
			}
			rep := st.Repair()
			t.Logf("repair: %v", rep)
			if !rep.Rebuilt || rep.Expected != damageMessages || rep.Recovered != int64(n) || rep.Lost() != damageMessages-int64(n) {
				t.Fatalf("repair report %+v, %d messages after it", rep, n)
			}
			if lost := rep.Lost() > 0; lost != c.wantLost {
				t.Fatalf("repair lost %d messages; want loss: %v", rep.Lost(), c.wantLost)
			}
			if _, err := os.Stat(rep.KeptAt); err != nil {
				t.Fatalf("damaged files not kept: %v", err)
			}
			// The rebuilt store opens without repair and holds the same.
			n2, _, err := reopen(t, work, pebblestore.Options{})
			if err != nil || n2 != n {
				t.Fatalf("after repair: %d messages, %v; want %d", n2, err, n)
			}
		})
	}
}

// TestCrashedWAL covers a store that was not closed: a torn tail of the
// write-ahead log is what a crash leaves and must not stop the start; damage
// in the middle must.
func TestCrashedWAL(t *testing.T) {
	t.Parallel()
	dir := buildStore(t, damageMessages, false)
	t.Run("torn tail", func(t *testing.T) {
		t.Parallel()
		work := t.TempDir()
		copyDir(t, dir, work)
		wal := filepath.Join(work, newestWAL(t, work))
		fi, err := os.Stat(wal)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(wal, fi.Size()-100); err != nil {
			t.Fatal(err)
		}
		n, _, err := reopen(t, work, pebblestore.Options{})
		if err != nil {
			t.Fatalf("a torn tail stopped the start: %v", err)
		}
		// The torn record was the last group commit: at most the 8
		// senders' batches of ten.
		if n < damageMessages-8*10 || n > damageMessages {
			t.Fatalf("%d messages after a torn tail, want %d less at most one group commit", n, damageMessages)
		}
	})
	t.Run("damage in the middle", func(t *testing.T) {
		t.Parallel()
		work := t.TempDir()
		copyDir(t, dir, work)
		name := newestWAL(t, work)
		flipBytes(t, filepath.Join(work, name), 0.3, 16)
		_, _, err := reopen(t, work, pebblestore.Options{})
		if !errors.Is(err, pebblestore.ErrDamaged) || !strings.Contains(err.Error(), name) {
			t.Fatalf("reopen: %v; want ErrDamaged naming %s", err, name)
		}
		n, st, err := reopen(t, work, pebblestore.Options{Repair: true})
		if err != nil {
			t.Fatal(err)
		}
		rep := st.Repair()
		t.Logf("repair: %v", rep)
		// After a crash the count at shutdown is unknown; the log's lost
		// operations are counted, but for the damaged records (16 bytes can
		// straddle two; a record is one group commit: at most the 8
		// senders' batches of 10) and the rest of their 32 KiB block (each
		// message takes over 200 bytes).
		const uncounted = 2*8*10 + 32<<10/200
		// A message put is two operations: its index record and its body.
		lostMsgs := int(rep.LostOps) / 2
		if rep.Lost() != -1 || rep.LostOps == 0 || n+lostMsgs < damageMessages-uncounted || n+lostMsgs > damageMessages {
			t.Fatalf("repair %+v left %d messages", rep, n)
		}
	})
}
