package pebblestore_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/store/pebblestore"
)

// bodySetup opens an engine over a fresh store, with a body cache of
// cacheBytes (negative: none, so every receive reads the store).
func bodySetup(t *testing.T, cacheBytes int64) (context.Context, *queue.Engine, *pebblestore.Store, *clock.Fake) {
	t.Helper()
	t.Parallel()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	e, err := queue.Open(context.Background(), queue.Options{Store: st, Clock: clk, DeletedQueueCooldown: -1, BodyCacheBytes: cacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	return context.Background(), e, st, clk
}

// storedCounts returns how many index records and whole messages the
// store holds.
func storedCounts(t *testing.T, st *pebblestore.Store) (idx, whole int) {
	t.Helper()
	idx, err := pebblestore.CountKeys(st, 'm')
	if err != nil {
		t.Fatal(err)
	}
	whole, err = pebblestore.CountKeys(st, 'b')
	if err != nil {
		t.Fatal(err)
	}
	return idx, whole
}

func wantStored(t *testing.T, st *pebblestore.Store, n int, when string) {
	t.Helper()
	if idx, whole := storedCounts(t, st); idx != n || whole != n {
		t.Fatalf("%s: the store holds %d index records and %d bodies, want %d", when, idx, whole, n)
	}
}

func sendN(t *testing.T, ctx context.Context, q *queue.Queue, n int, fifo bool) {
	t.Helper()
	for i := 0; i < n; i++ {
		in := queue.SendInput{Body: fmt.Sprintf("m%d-%s", i, strings.Repeat("x", 1000)),
			Attributes: map[string]queue.AttributeValue{"i": {DataType: "Number", StringValue: fmt.Sprint(i)}}}
		if fifo {
			in.GroupID, in.DedupID = fmt.Sprint("g", i%3), fmt.Sprint(i)
		}
		if _, err := q.Send(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
}

// drain receives and deletes every message, checking each body.
func drain(t *testing.T, ctx context.Context, q *queue.Queue) int {
	t.Helper()
	zero := time.Duration(0)
	n := 0
	for {
		ds, err := q.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &zero})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return n
		}
		for _, d := range ds {
			if !strings.HasPrefix(d.Body, "m") || len(d.Body) < 1000 || d.BodyMD5 != queue.MD5Hex(d.Body) || d.Attributes["i"].StringValue == "" {
				t.Fatalf("received %q (md5 %s, attributes %v)", d.Body[:min(len(d.Body), 10)], d.BodyMD5, d.Attributes)
			}
			if err := q.Delete(ctx, d.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
}

// TestBodiesGoWithTheirMessages checks that every way a message leaves a
// queue deletes its body from the store: deletes, purge, queue deletion,
// retention, moves to a dead-letter queue and back. Receives read the
// bodies back from the store (no cache) and from the cache.
func TestBodiesGoWithTheirMessages(t *testing.T) {
	for _, cache := range []int64{-1, 0} {
		name := "cache"
		if cache < 0 {
			name = "no-cache"
		}
		t.Run(name+"/delete", func(t *testing.T) {
			ctx, e, st, _ := bodySetup(t, cache)
			for _, fifo := range []bool{false, true} {
				qn, attrs := "q", map[string]string(nil)
				if fifo {
					qn, attrs = "q.fifo", map[string]string{"FifoQueue": "true"}
				}
				q, err := e.CreateQueue(ctx, qn, attrs, nil)
				if err != nil {
					t.Fatal(err)
				}
				sendN(t, ctx, q, 50, fifo)
				if got := drain(t, ctx, q); got != 50 {
					t.Fatalf("%s: drained %d, want 50", qn, got)
				}
			}
			wantStored(t, st, 0, "after deleting every message")
		})
		t.Run(name+"/purge-and-delete-queue", func(t *testing.T) {
			ctx, e, st, _ := bodySetup(t, cache)
			p, _ := e.CreateQueue(ctx, "purged", nil, nil)
			d, _ := e.CreateQueue(ctx, "deleted", nil, nil)
			sendN(t, ctx, p, 30, false)
			sendN(t, ctx, d, 20, false)
			wantStored(t, st, 50, "after sending")
			if err := p.Purge(ctx); err != nil {
				t.Fatal(err)
			}
			wantStored(t, st, 20, "after a purge")
			if err := e.DeleteQueue(ctx, "deleted"); err != nil {
				t.Fatal(err)
			}
			wantStored(t, st, 0, "after a purge and a queue deletion")
		})
		t.Run(name+"/retention", func(t *testing.T) {
			ctx, e, st, clk := bodySetup(t, cache)
			q, _ := e.CreateQueue(ctx, "short", map[string]string{"MessageRetentionPeriod": "60"}, nil)
			sendN(t, ctx, q, 25, false)
			clk.Advance(61 * time.Second)
			e.Sweep(ctx)
			wantStored(t, st, 0, "after retention expired every message")
		})
		t.Run(name+"/dead-letter-and-back", func(t *testing.T) {
			ctx, e, st, _ := bodySetup(t, cache)
			dlq, _ := e.CreateQueue(ctx, "dlq", nil, nil)
			src, _ := e.CreateQueue(ctx, "src", map[string]string{
				"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"1"}`, dlq.ARN())}, nil)
			sendN(t, ctx, src, 20, false)
			zero := time.Duration(0)
			for i := 0; i < 2; i++ { // receive once, then the next receive moves them
				for {
					ds, err := src.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &zero, Visibility: &zero})
					if err != nil {
						t.Fatal(err)
					}
					if len(ds) == 0 {
						break
					}
				}
			}
			if c := dlq.Counts(); c.Visible != 20 {
				t.Fatalf("dead-letter queue holds %+v, want 20 visible", c)
			}
			wantStored(t, st, 20, "after moving every message to the dead-letter queue")
			if _, err := e.StartMoveTask(ctx, dlq.ARN(), "", 0); err != nil {
				t.Fatal(err)
			}
			waitMoved(t, e, dlq.ARN())
			wantStored(t, st, 20, "after moving them back")
			if got := drain(t, ctx, src); got != 20 {
				t.Fatalf("drained %d moved back, want 20", got)
			}
			wantStored(t, st, 0, "after deleting the moved messages")
		})
	}
}

// waitMoved yields until the move task of source finished.
func waitMoved(t *testing.T, e *queue.Engine, source string) {
	t.Helper()
	for {
		ts, err := e.ListMoveTasks(source, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) == 1 && ts[0].Status != queue.MoveRunning {
			if ts[0].Status != queue.MoveCompleted {
				t.Fatalf("move task %+v", ts[0])
			}
			return
		}
		runtime.Gosched()
	}
}

// TestFIFORestartKeepsGroupsAndDedup restarts a FIFO queue of many groups
// (Load's strings are the store's buffers only during its callback: the
// engine must copy the group ids and deduplication ids it keeps).
func TestFIFORestartKeepsGroupsAndDedup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	e := open(t, dir, clk)
	q, err := e.CreateQueue(ctx, "f.fifo", map[string]string{"FifoQueue": "true"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const groups, per = 50, 4
	for i := 0; i < groups*per; i++ {
		if _, err := q.Send(ctx, queue.SendInput{Body: fmt.Sprint(i), GroupID: fmt.Sprintf("group-%03d", i%groups), DedupID: fmt.Sprintf("dedup-%04d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	e = open(t, dir, clk)
	defer e.Stop(ctx)
	q, err = e.Queue("f.fifo")
	if err != nil {
		t.Fatal(err)
	}
	// A duplicate within the window is answered, not stored.
	if _, err := q.Send(ctx, queue.SendInput{Body: "again", GroupID: "group-000", DedupID: "dedup-0000"}); err != nil {
		t.Fatal(err)
	}
	if c := q.Counts(); c.Visible != groups*per {
		t.Fatalf("after a restart and a duplicate: %+v, want %d visible", c, groups*per)
	}
	// One receive of 10 takes the head of each of the first groups, in
	// group order, one group at a time.
	zero := time.Duration(0)
	seen := map[string]int{}
	for {
		ds, err := q.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &zero})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			var i int
			fmt.Sscan(d.Body, &i)
			g := fmt.Sprintf("group-%03d", i%groups)
			if d.GroupID != g || i/groups != seen[g] {
				t.Fatalf("received %q of group %q, want the next of %s (%d)", d.Body, d.GroupID, g, seen[g])
			}
			seen[g]++
			if err := q.Delete(ctx, d.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != groups {
		t.Fatalf("received from %d groups, want %d", len(seen), groups)
	}
}
