package queue

import (
	"testing"
	"time"
	"unsafe"
)

func TestEntrySize(t *testing.T) {
	t.Parallel()
	if n := unsafe.Sizeof(entry{}); n != 48 {
		t.Errorf("an entry takes %d bytes, want 48 (a Go size class): every queued message pays for it", n)
	}
}

// TestBacklogNotInReceiptMap: a message is findable by receipt (bySeq)
// once received and until it leaves the queue; a backlog never received
// costs no map slot.
func TestBacklogNotInReceiptMap(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, _ := setup(t)
		q, err := e.CreateQueue(ctx, "q", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			if _, err := q.Send(ctx, SendInput{Body: "b"}); err != nil {
				t.Fatal(err)
			}
		}
		mapped := func() int {
			q.mu.Lock()
			defer q.mu.Unlock()
			return len(q.bySeq)
		}
		if n := mapped(); n != 0 {
			t.Fatalf("%d of 20 unreceived messages in the receipt map", n)
		}
		zero := time.Duration(0)
		ds, err := q.Receive(ctx, ReceiveInput{Max: 3, Wait: &zero})
		if err != nil || len(ds) != 3 {
			t.Fatal(ds, err)
		}
		if n := mapped(); n != 3 {
			t.Fatalf("%d received messages in the receipt map, want 3", n)
		}
		if err := q.Delete(ctx, ds[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		if n, c := mapped(), q.Counts(); n != 2 || c.Visible != 17 || c.Inflight != 2 {
			t.Fatalf("after a delete: %d mapped, counts %+v", n, c)
		}
	})
}
