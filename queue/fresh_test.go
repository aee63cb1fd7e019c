package queue

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestFreshListTakesOnlyOrderedMessages loads a backlog (as a restart
// does) whose send times are not all in sequence order, with one message
// moved in from another queue: the ordered, never received messages are
// plain (listed in the fresh list only), the others get an extra and the
// heaps, and age, retention, receive order and counts treat both alike.
func TestFreshListTakesOnlyOrderedMessages(t *testing.T) {
	ctx, e, clk := setup(t)
	q := mustQueue(t, e, "f", map[string]string{"MessageRetentionPeriod": "3600", "VisibilityTimeout": "600"})
	t0 := clk.Now().Add(-10 * time.Minute)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	msgs := []*Message{
		{Seq: 1, SentAt: at(0), OriginalEnqueueAt: at(0)},
		{Seq: 2, SentAt: at(time.Second), OriginalEnqueueAt: at(time.Second)},
		{Seq: 3, SentAt: at(3 * time.Second), OriginalEnqueueAt: at(3 * time.Second)},
		{Seq: 4, SentAt: at(2 * time.Second), OriginalEnqueueAt: at(2 * time.Second)},   // the clock stepped back
		{Seq: 5, SentAt: at(4 * time.Second), OriginalEnqueueAt: at(-55 * time.Minute)}, // moved in: retention counts from its first queue
		{Seq: 6, SentAt: at(5 * time.Second), OriginalEnqueueAt: at(5 * time.Second)},
	}
	for _, m := range msgs {
		m.ID, m.Body = NewUUID(), "m"
		if err := e.store.Commit(ctx, []Op{{Kind: OpPutMessage, QueueID: q.id, Message: m, State: MessageState{VisibleAt: m.SentAt}}}, true); err != nil {
			t.Fatal(err)
		}
	}
	q.mu.Lock()
	ents := make([]*entry, len(msgs))
	for i, m := range msgs {
		ents[i] = newEntry(m, MessageState{VisibleAt: m.SentAt})
	}
	q.insertLoadedLocked(ents, nanos(clk.Now()))
	var plain []uint64
	q.fresh.each(func(m *entry) { plain = append(plain, m.seq) })
	if want := []uint64{1, 2, 3, 6}; !equalSeqs(plain, want) {
		t.Errorf("plain %v, want %v", plain, want)
	}
	if len(q.age) != 2 || len(q.expiry) != 2 || ents[3].plain() || ents[4].plain() {
		t.Errorf("heaps: age %d, expiry %d; want the two out-of-order messages in each", len(q.age), len(q.expiry))
	}
	n := 0
	q.forEachLocked(func(*entry) { n++ })
	q.mu.Unlock()
	if n != len(msgs) {
		t.Fatalf("forEachLocked saw %d messages, want %d", n, len(msgs))
	}
	if got := q.OldestAge(); got != 10*time.Minute {
		t.Fatalf("OldestAge %v, want 10m", got)
	}

	clk.Advance(6 * time.Minute) // past the moved message's retention only
	e.Sweep(ctx)
	if c := q.Counts(); c.Visible != 5 {
		t.Fatalf("after the first sweep: %+v, want the moved message dropped", c)
	}

	// Receives take the oldest sends first, plain or not, and a received
	// plain message leaves the fresh list for the heaps.
	var got []uint64
	for _, d := range receive(t, q, 10) {
		got = append(got, d.ent.seq)
	}
	if want := []uint64{1, 2, 3, 4, 6}; !equalSeqs(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	q.mu.Lock()
	if f := q.fresh.front(); f != nil || len(q.expiry) != 5 {
		t.Errorf("after receiving all: fresh front %v, expiry heap %d, want none and 5", f, len(q.expiry))
	}
	q.mu.Unlock()

	clk.Advance(time.Hour) // visible again, and past retention
	e.Sweep(ctx)
	if c := q.Counts(); c != (Counts{}) {
		t.Fatalf("after retention: %+v, want an empty queue", c)
	}
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConcurrentSendsStayPlain: batches sent at the same time, whose
// commits finish in any order, are still listed in the fresh list (the
// send time is read where the sequence number is taken), so a backlog
// built by many senders pays no heap.
func TestConcurrentSendsStayPlain(t *testing.T) {
	for _, fifo := range []bool{false, true} {
		t.Run(map[bool]string{false: "standard", true: "fifo"}[fifo], func(t *testing.T) {
			_, e, clk := setup(t)
			name, attrs := "c", map[string]string{}
			if fifo {
				name, attrs["FifoQueue"], attrs["ContentBasedDeduplication"] = "c.fifo", "true", "true"
			}
			q := mustQueue(t, e, name, attrs)
			const senders, batches = 8, 50
			var wg sync.WaitGroup
			for s := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					in := make([]SendInput, 10)
					for b := range batches {
						for i := range in {
							in[i] = SendInput{Body: time.Duration(s*100000 + b*10 + i).String(), GroupID: "g"}
							if !fifo {
								in[i].GroupID = ""
							}
						}
						for _, o := range q.SendBatch(context.Background(), in) {
							if o.Err != nil {
								t.Error(o.Err)
							}
						}
						clk.Advance(time.Millisecond)
					}
				}()
			}
			wg.Wait()
			q.mu.Lock()
			n := 0
			last := int64(0)
			q.fresh.each(func(m *entry) {
				if m.sentAt < last {
					t.Errorf("fresh list out of send order at seq %d", m.seq)
				}
				last = m.sentAt
				n++
			})
			heaps := len(q.age) + len(q.expiry)
			q.mu.Unlock()
			if n != senders*batches*10 || heaps != 0 {
				t.Fatalf("%d plain messages, %d in heaps; want %d and 0", n, heaps, senders*batches*10)
			}
			if c := q.Counts(); c.Visible != senders*batches*10 {
				t.Fatalf("counts %+v", c)
			}
		})
	}
}

// TestFreshListStaysBoundedBehindALockedGroup: a FIFO group locked by a
// message in flight keeps its next message at the fresh list's front while
// other groups flow; the messages received and deleted behind it do not
// accumulate in the list.
func TestFreshListStaysBoundedBehindALockedGroup(t *testing.T) {
	ctx, e, _ := setup(t)
	q := mustQueue(t, e, "stuck.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "43200"})
	send(t, q, SendInput{Body: "a1", GroupID: "a"})
	send(t, q, SendInput{Body: "a2", GroupID: "a"})
	if ds := receive(t, q, 1); len(ds) != 1 || ds[0].Body != "a1" {
		t.Fatalf("received %+v, want a1", ds)
	}
	in := make([]SendInput, 10)
	const rounds = 1000
	for r := range rounds {
		for i := range in {
			in[i] = SendInput{Body: time.Duration(r*10 + i).String(), GroupID: "b"}
		}
		for _, o := range q.SendBatch(ctx, in) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
		}
		ds := receive(t, q, 10)
		if len(ds) != 10 {
			t.Fatalf("round %d: received %d, want 10 of group b", r, len(ds))
		}
		hs := make([]string, len(ds))
		for i, d := range ds {
			hs[i] = d.ReceiptHandle
		}
		for _, err := range q.DeleteBatch(ctx, hs) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	q.mu.Lock()
	n, live, front := q.fresh.len(), q.numLive, q.fresh.front()
	q.mu.Unlock()
	if n > 2*live+freshSlack || n >= rounds*10 {
		t.Fatalf("fresh list of %d entries for %d live messages after %d received behind a locked group", n, live, rounds*10)
	}
	if front == nil || front.grp.id != "a" {
		t.Fatalf("fresh front %+v, want a2", front)
	}
}
