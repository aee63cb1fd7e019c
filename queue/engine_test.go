package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

func setup(t *testing.T) (context.Context, *Engine, *clock.Fake) {
	t.Helper()
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	e, err := Open(context.Background(), Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	return context.Background(), e, clk
}

func mustQueue(t *testing.T, e *Engine, name string, attrs map[string]string) *Queue {
	t.Helper()
	q, err := e.CreateQueue(context.Background(), name, attrs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func send(t *testing.T, q *Queue, in SendInput) SendResult {
	t.Helper()
	r, err := q.Send(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var noWait = func() *time.Duration { d := time.Duration(0); return &d }()

func receive(t *testing.T, q *Queue, max int) []Delivery {
	t.Helper()
	ds, err := q.Receive(context.Background(), ReceiveInput{Max: max, Wait: noWait})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestVisibilityTimeoutReturnsMessage(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		_, e, clk := setup(t)
		q := mustQueue(t, e, "v", map[string]string{"VisibilityTimeout": "30"})
		send(t, q, SendInput{Body: "m"})
		if got := receive(t, q, 1); len(got) != 1 {
			t.Fatalf("received %d", len(got))
		}
		clk.Advance(29 * time.Second)
		if got := receive(t, q, 1); len(got) != 0 {
			t.Fatal("delivered while invisible")
		}
		if c := q.Counts(); c != (Counts{Inflight: 1}) {
			t.Fatalf("counts %+v", c)
		}
		clk.Advance(time.Second)
		got := receive(t, q, 1)
		if len(got) != 1 || got[0].State.ReceiveCount != 2 {
			t.Fatalf("after timeout: %+v", got)
		}
	})
}

func TestDelayedMessages(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		_, e, clk := setup(t)
		q := mustQueue(t, e, "d", map[string]string{"DelaySeconds": "10"})
		send(t, q, SendInput{Body: "queue delay"})
		five := 5 * time.Second
		send(t, q, SendInput{Body: "own delay", Delay: &five})
		if c := q.Counts(); c != (Counts{Delayed: 2}) {
			t.Fatalf("counts %+v", c)
		}
		clk.Advance(5 * time.Second)
		got := receive(t, q, 10)
		if len(got) != 1 || got[0].Body != "own delay" {
			t.Fatalf("at 5s: %+v", got)
		}
		clk.Advance(5 * time.Second)
		if got := receive(t, q, 10); len(got) != 1 || got[0].Body != "queue delay" {
			t.Fatalf("at 10s: %+v", got)
		}
	})
}

func TestLongPollWakesWhenDelayEnds(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "lp", nil)
		three := 3 * time.Second
		send(t, q, SendInput{Body: "soon", Delay: &three})
		wait := 20 * time.Second
		done := make(chan []Delivery, 1)
		parked := q.WaiterAdded()
		go func() {
			ds, _ := q.Receive(ctx, ReceiveInput{Max: 1, Wait: &wait})
			done <- ds
		}()
		<-parked
		clk.Advance(3 * time.Second)
		if ds := <-done; len(ds) != 1 || ds[0].Body != "soon" {
			t.Fatalf("long poll got %+v", ds)
		}
	})
}

func TestLongPollTimesOutEmpty(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "lp", nil)
		wait := 20 * time.Second
		done := make(chan []Delivery, 1)
		parked := q.WaiterAdded()
		go func() {
			ds, _ := q.Receive(ctx, ReceiveInput{Max: 1, Wait: &wait})
			done <- ds
		}()
		<-parked
		clk.Advance(19 * time.Second)
		select {
		case <-done:
			t.Fatal("returned before the wait time")
		default:
		}
		clk.Advance(time.Second)
		if ds := <-done; len(ds) != 0 {
			t.Fatalf("got %d messages", len(ds))
		}
	})
}

func TestRetentionDropsOldMessages(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		_, e, clk := setup(t)
		q := mustQueue(t, e, "r", map[string]string{"MessageRetentionPeriod": "60"})
		send(t, q, SendInput{Body: "old"})
		clk.Advance(59 * time.Second)
		send(t, q, SendInput{Body: "new"})
		clk.Advance(time.Second)
		got := receive(t, q, 10)
		if len(got) != 1 || got[0].Body != "new" {
			t.Fatalf("got %+v", got)
		}
		if q.Stats().Expired != 1 {
			t.Fatalf("stats %+v", q.Stats())
		}
	})
}

func TestFIFODeduplicationWindow(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		_, e, clk := setup(t)
		q := mustQueue(t, e, "d.fifo", map[string]string{"FifoQueue": "true"})
		in := SendInput{Body: "x", GroupID: "g", DedupID: "same"}
		first := send(t, q, in)
		clk.Advance(DedupWindow - time.Second)
		if again := send(t, q, in); again.MessageID != first.MessageID {
			t.Fatal("duplicate accepted inside the window")
		}
		clk.Advance(time.Second)
		if later := send(t, q, in); later.MessageID == first.MessageID {
			t.Fatal("send after the window was deduplicated")
		}
		if c := q.Counts(); c.Visible != 2 {
			t.Fatalf("counts %+v", c)
		}
	})
}

func TestFIFOScopePerGroup(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		_, e, _ := setup(t)
		q := mustQueue(t, e, "s.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})
		send(t, q, SendInput{Body: "x", GroupID: "a", DedupID: "d"})
		send(t, q, SendInput{Body: "x", GroupID: "b", DedupID: "d"})
		if c := q.Counts(); c.Visible != 2 {
			t.Fatalf("per-group scope kept %d", c.Visible)
		}
	})
}

func TestFIFOGroupUnlocksWhenVisibilityExpires(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		_, e, clk := setup(t)
		q := mustQueue(t, e, "u.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "10"})
		send(t, q, SendInput{Body: "1", GroupID: "g"})
		send(t, q, SendInput{Body: "2", GroupID: "g"})
		if got := receive(t, q, 1); len(got) != 1 || got[0].Body != "1" {
			t.Fatalf("first %+v", got)
		}
		if got := receive(t, q, 10); len(got) != 0 {
			t.Fatal("locked group delivered")
		}
		clk.Advance(10 * time.Second)
		got := receive(t, q, 10)
		if len(got) != 2 || got[0].Body != "1" || got[1].Body != "2" {
			t.Fatalf("after expiry: order %v", bodies(got))
		}
	})
}

func bodies(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Body)
	}
	return out
}

func TestPurgeOncePerMinute(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "p", nil)
		send(t, q, SendInput{Body: "x"})
		if err := q.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(59 * time.Second)
		if err := q.Purge(ctx); !errors.Is(err, &Error{Code: ErrPurgeQueueInProgress}) {
			t.Fatalf("second purge: %v", err)
		}
		clk.Advance(time.Second)
		if err := q.Purge(ctx); err != nil {
			t.Fatalf("purge after 60s: %v", err)
		}
	})
}

func TestDeletedQueueNameCooldown(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		mustQueue(t, e, "gone", nil)
		if err := e.DeleteQueue(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.CreateQueue(ctx, "gone", nil, nil); !errors.Is(err, &Error{Code: ErrQueueDeletedRecently}) {
			t.Fatalf("recreate at once: %v", err)
		}
		clk.Advance(DeletedQueueCooldown)
		if _, err := e.CreateQueue(ctx, "gone", nil, nil); err != nil {
			t.Fatalf("recreate after 60s: %v", err)
		}
	})
}

func TestVisibilityCappedAt12HoursFromReceive(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "cap", nil)
		send(t, q, SendInput{Body: "x"})
		twoHours := 2 * time.Hour
		ds, err := q.Receive(ctx, ReceiveInput{Max: 1, Wait: noWait, Visibility: &twoHours})
		if err != nil || len(ds) != 1 {
			t.Fatal(ds, err)
		}
		d := ds[0]
		clk.Advance(time.Hour)
		err = q.ChangeVisibility(ctx, VisibilityChange{ReceiptHandle: d.ReceiptHandle, Timeout: 11*time.Hour + time.Second})
		if !errors.Is(err, &Error{Code: ErrInvalidParameterValue}) {
			t.Fatalf("beyond 12 h: %v", err)
		}
		if err := q.ChangeVisibility(ctx, VisibilityChange{ReceiptHandle: d.ReceiptHandle, Timeout: 11 * time.Hour}); err != nil {
			t.Fatalf("up to 12 h: %v", err)
		}
	})
}

func TestMoveTaskRespectsRate(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		dlq := mustQueue(t, e, "dlq", nil)
		mustQueue(t, e, "src", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + dlq.ARN() + `","maxReceiveCount":1}`})
		dst := mustQueue(t, e, "dst", nil)
		for i := 0; i < 25; i++ {
			send(t, dlq, SendInput{Body: "x"})
		}
		created := clk.TimerCreated()
		h, err := e.StartMoveTask(ctx, dlq.ARN(), dst.ARN(), 10)
		if err != nil {
			t.Fatal(err)
		}
		<-created // the first batch of 10 moved; the task waits a second
		if n := dst.Counts().Visible; n != 10 {
			t.Fatalf("after first tick %d moved", n)
		}
		created = clk.TimerCreated()
		clk.Advance(time.Second)
		<-created
		if n := dst.Counts().Visible; n != 20 {
			t.Fatalf("after second tick %d moved", n)
		}
		moved, err := e.CancelMoveTask(h)
		if err != nil || moved != 20 {
			t.Fatalf("cancel: %d, %v", moved, err)
		}
	})
}

func TestAttributesMD5MatchesAWS(t *testing.T) {
	t.Parallel()
	// The example digest of the SQS developer guide's MD5OfMessageAttributes
	// walkthrough, also used as a test vector by other SQS clients.
	got := AttributesMD5(map[string]AttributeValue{"SellerName": {DataType: "String", StringValue: "Example Store"}})
	if got != "cd28f3b68aeee4b2eac9c66f2f694b58" {
		t.Fatalf("MD5 %s", got)
	}
}

func TestLongPollWakesWhenVisibilityShortened(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "short", map[string]string{"VisibilityTimeout": "30"})
		send(t, q, SendInput{Body: "x"})
		d := receive(t, q, 1)[0]
		wait := 20 * time.Second
		done := make(chan []Delivery, 1)
		parked := q.WaiterAdded()
		go func() {
			ds, _ := q.Receive(ctx, ReceiveInput{Max: 1, Wait: &wait})
			done <- ds
		}()
		<-parked
		reparked := q.WaiterAdded()
		if err := q.ChangeVisibility(ctx, VisibilityChange{ReceiptHandle: d.ReceiptHandle, Timeout: time.Second}); err != nil {
			t.Fatal(err)
		}
		<-reparked // the poll re-armed its timer for the new time
		clk.Advance(time.Second)
		if ds := <-done; len(ds) != 1 {
			t.Fatalf("long poll got %d messages", len(ds))
		}
	})
}
