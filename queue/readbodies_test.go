package queue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// unreadableStore is a MemoryStore whose reads fail while broken is set.
type unreadableStore struct {
	MemoryStore
	broken *atomic.Bool
}

func (s unreadableStore) ReadMessages(ctx context.Context, qid uint64, seqs []uint64) ([]*Message, error) {
	if s.broken.Load() {
		return nil, errors.New("disk read error")
	}
	return s.MemoryStore.ReadMessages(ctx, qid, seqs)
}

// TestReceiveUndoneWhenBodiesUnreadable: a receive whose bodies cannot be
// read fails and leaves the messages visible, their receive undone.
func TestReceiveUndoneWhenBodiesUnreadable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	broken := &atomic.Bool{}
	st := unreadableStore{MemoryStore: NewMemoryStore(), broken: broken}
	e, err := Open(ctx, Options{Store: st, Clock: clock.NewFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)), BodyCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)
	q, err := e.CreateQueue(ctx, "q", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := q.Send(ctx, SendInput{Body: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	zero := time.Duration(0)
	broken.Store(true)
	if ds, err := q.Receive(ctx, ReceiveInput{Max: 10, Wait: &zero}); err == nil || len(ds) != 0 {
		t.Fatalf("receive with an unreadable store: %d messages, err %v", len(ds), err)
	}
	if c, s := q.Counts(), q.Stats(); c.Visible != 3 || c.Inflight != 0 || s.Received != 0 {
		t.Fatalf("after a failed receive: counts %+v, received %d; want 3 visible, none received", c, s.Received)
	}
	broken.Store(false)
	ds, err := q.Receive(ctx, ReceiveInput{Max: 10, Wait: &zero})
	if err != nil || len(ds) != 3 {
		t.Fatalf("receive after the store recovered: %d messages, %v", len(ds), err)
	}
	for _, d := range ds {
		if d.Body != "b" || d.State.ReceiveCount != 1 {
			t.Fatalf("delivery %+v", d)
		}
	}
}
