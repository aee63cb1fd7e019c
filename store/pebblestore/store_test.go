package pebblestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/store/pebblestore"
)

func open(t *testing.T, dir string, clk clock.Clock) *queue.Engine {
	t.Helper()
	st, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := queue.Open(context.Background(), queue.Options{Store: st, Clock: clk, DeletedQueueCooldown: -1})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestStateSurvivesReopen writes through the engine, closes, reopens and
// checks what every kind of op left behind.
func TestStateSurvivesReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	e := open(t, dir, clk)
	keep, _ := e.CreateQueue(ctx, "keep", map[string]string{"VisibilityTimeout": "60"}, map[string]string{"team": "a"})
	gone, _ := e.CreateQueue(ctx, "gone", nil, nil)
	purged, _ := e.CreateQueue(ctx, "purged", nil, nil)
	fifo, _ := e.CreateQueue(ctx, "f.fifo", map[string]string{"FifoQueue": "true"}, nil)
	attrs := map[string]queue.AttributeValue{"n": {DataType: "Number", StringValue: "7"}, "b": {DataType: "Binary", BinaryValue: []byte{1, 2}}}
	for _, body := range []string{"received", "deleted", "untouched"} {
		if _, err := keep.Send(ctx, queue.SendInput{Body: body, Attributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	gone.Send(ctx, queue.SendInput{Body: "x"})
	purged.Send(ctx, queue.SendInput{Body: "x"})
	first, _ := fifo.Send(ctx, queue.SendInput{Body: "f1", GroupID: "g", DedupID: "d1"})
	fifo.Send(ctx, queue.SendInput{Body: "f2", GroupID: "g", DedupID: "d2"})

	zero := time.Duration(0)
	ds, err := keep.Receive(ctx, queue.ReceiveInput{Max: 2, Wait: &zero})
	if err != nil || len(ds) != 2 {
		t.Fatal(ds, err)
	}
	if err := keep.Delete(ctx, ds[1].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteQueue(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := purged.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	e = open(t, dir, clk)
	defer e.Stop(ctx)
	if _, err := e.Queue("gone"); err == nil {
		t.Fatal("deleted queue came back")
	}
	keep, err = e.Queue("keep")
	if err != nil {
		t.Fatal(err)
	}
	if keep.Config().Visibility != time.Minute || keep.Tags()["team"] != "a" {
		t.Fatalf("queue record: %+v %v", keep.Config(), keep.Tags())
	}
	// "received" is still in flight for its 60 s; "untouched" is visible.
	if c := keep.Counts(); c != (queue.Counts{Visible: 1, Inflight: 1}) {
		t.Fatalf("counts after reopen %+v", c)
	}
	// The old receipt handle still works after the restart.
	if err := keep.ChangeVisibility(ctx, queue.VisibilityChange{ReceiptHandle: ds[0].ReceiptHandle, Timeout: 0}); err != nil {
		t.Fatalf("receipt handle after reopen: %v", err)
	}
	got, _ := keep.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &zero})
	if len(got) != 2 {
		t.Fatalf("got %d", len(got))
	}
	for _, d := range got {
		if d.Body == "received" && d.State.ReceiveCount != 2 {
			t.Fatalf("receive count %d", d.State.ReceiveCount)
		}
		if d.Attributes["b"].BinaryValue[1] != 2 || d.AttributesMD5 == "" {
			t.Fatalf("attributes %+v", d.Attributes)
		}
	}
	p, _ := e.Queue("purged")
	if c := p.Counts(); c.Visible != 0 {
		t.Fatalf("purged queue has %+v", c)
	}
	f, _ := e.Queue("f.fifo")
	// FIFO order and the deduplication window survive the restart.
	dup, err := f.Send(ctx, queue.SendInput{Body: "f1", GroupID: "g", DedupID: "d1"})
	if err != nil || dup.MessageID != first.MessageID {
		t.Fatalf("dedup after reopen: %v %v", dup, err)
	}
	fs, _ := f.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &zero})
	if len(fs) != 2 || fs[0].Body != "f1" || fs[1].Body != "f2" || fs[0].SequenceNumber >= fs[1].SequenceNumber {
		t.Fatalf("fifo after reopen: %+v", fs)
	}
	later, _ := f.Send(ctx, queue.SendInput{Body: "f3", GroupID: "h", DedupID: "d3"})
	if later.SequenceNumber <= fs[1].SequenceNumber {
		t.Fatalf("sequence number went backwards: %s after %s", later.SequenceNumber, fs[1].SequenceNumber)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{2, 3, 0x61, 0x62, 0x63, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		pebblestore.DecodeForFuzz(b) // must not panic on a corrupt record
	})
}
