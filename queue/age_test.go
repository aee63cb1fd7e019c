package queue

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

func TestOldestAge(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "age", map[string]string{"VisibilityTimeout": "30"})
		if got := q.OldestAge(); got != 0 {
			t.Fatalf("empty queue: OldestAge = %v", got)
		}
		send(t, q, SendInput{Body: "first"})
		clk.Advance(10 * time.Second)
		send(t, q, SendInput{Body: "second"})
		clk.Advance(5 * time.Second)
		if got := q.OldestAge(); got != 15*time.Second {
			t.Fatalf("OldestAge = %v, want 15s", got)
		}
		first := receive(t, q, 1)
		if got := q.OldestAge(); got != 5*time.Second {
			t.Fatalf("with the first in flight: OldestAge = %v, want 5s", got)
		}
		delay := 100 * time.Second
		send(t, q, SendInput{Body: "delayed", Delay: &delay})
		second := receive(t, q, 1)
		if got := q.OldestAge(); got != 0 {
			t.Fatalf("only a delayed message sent now: OldestAge = %v, want 0", got)
		}
		if err := q.Delete(ctx, second[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		clk.Advance(31 * time.Second) // the first is visible again
		if got := q.OldestAge(); got != 46*time.Second {
			t.Fatalf("first visible again: OldestAge = %v, want 46s", got)
		}
		// Its handle has expired: the change succeeds, as in SQS, and
		// leaves the message visible, its age unchanged.
		if err := q.ChangeVisibility(ctx, VisibilityChange{ReceiptHandle: first[0].ReceiptHandle, Timeout: 60 * time.Second}); err != nil {
			t.Fatal(err)
		}
		if got := q.OldestAge(); got != 46*time.Second {
			t.Fatalf("after a change with an expired handle: OldestAge = %v, want 46s", got)
		}
		if err := q.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		if got := q.OldestAge(); got != 0 {
			t.Fatalf("after purge: OldestAge = %v", got)
		}
	})
}

// TestOldestAgeMatchesScan drives a queue through random sends, receives,
// deletes, visibility changes and time, and compares OldestAge with a scan
// of every message.
func TestOldestAgeMatchesScan(t *testing.T) {
	for _, fifo := range []bool{false, true} {
		t.Run(map[bool]string{false: "standard", true: "fifo"}[fifo], func(t *testing.T) {
			ctx, e, clk := setup(t)
			name, attrs := "scan", map[string]string{"VisibilityTimeout": "20"}
			if fifo {
				name, attrs["FifoQueue"], attrs["ContentBasedDeduplication"] = "scan.fifo", "true", "true"
			}
			q := mustQueue(t, e, name, attrs)
			rng := rand.New(rand.NewPCG(1, 2))
			var handles []string
			for i := range 3000 {
				switch op := rng.IntN(10); {
				case op < 4:
					in := SendInput{Body: "m" + string(rune('a'+i%26)) + time.Duration(i).String()}
					if fifo {
						in.GroupID = string(rune('a' + rng.IntN(4)))
					} else if rng.IntN(4) == 0 {
						d := time.Duration(rng.IntN(30)) * time.Second
						in.Delay = &d
					}
					send(t, q, in)
				case op < 6:
					for _, d := range receive(t, q, 1+rng.IntN(3)) {
						handles = append(handles, d.ReceiptHandle)
					}
				case op < 8 && len(handles) > 0:
					j := rng.IntN(len(handles))
					if rng.IntN(2) == 0 {
						q.Delete(ctx, handles[j])
					} else {
						q.ChangeVisibility(ctx, VisibilityChange{ReceiptHandle: handles[j], Timeout: time.Duration(rng.IntN(3)) * time.Second})
					}
					handles = append(handles[:j], handles[j+1:]...)
				default:
					clk.Advance(time.Duration(rng.IntN(5000)) * time.Millisecond)
				}
				got := q.OldestAge()
				q.mu.Lock()
				var oldest time.Time
				q.forEachLocked(func(m *entry) {
					if sent := fromNanos(m.sentAt); !m.inflight() && (oldest.IsZero() || sent.Before(oldest)) {
						oldest = sent
					}
				})
				var want time.Duration
				if !oldest.IsZero() {
					want = clk.Now().Sub(oldest)
				}
				q.mu.Unlock()
				if got != want {
					t.Fatalf("step %d: OldestAge = %v, scan says %v", i, got, want)
				}
			}
		})
	}
}

func BenchmarkOldestAge(b *testing.B) {
	e, err := Open(context.Background(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop(context.Background())
	q, err := e.CreateQueue(context.Background(), "bench", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ins := make([]SendInput, 10)
	for i := range ins {
		ins[i].Body = "x"
	}
	for range 10000 {
		q.SendBatch(context.Background(), ins)
	}
	b.ResetTimer()
	for range b.N {
		q.OldestAge()
	}
}
