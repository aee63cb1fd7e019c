package queue

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Peeking changes nothing: the receive count, the visibility and the
// counts are what they were, and the next receive gets the message as if
// nobody had looked.
func TestPeekChangesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "p", map[string]string{"VisibilityTimeout": "30"})
		send(t, q, SendInput{Body: "first", Attributes: map[string]AttributeValue{"k": {DataType: "String", StringValue: "v"}}})
		send(t, q, SendInput{Body: "second"})
		d := time.Minute
		send(t, q, SendInput{Body: "later", Delay: &d})
		got := receive(t, q, 1)
		if len(got) != 1 || got[0].Body != "first" {
			t.Fatalf("received %v", bodies(got))
		}
		before := q.Counts()

		for range 3 {
			page, err := q.Peek(ctx, PeekOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Messages) != 3 || page.Next != 0 {
				t.Fatalf("page: %d messages, next %d", len(page.Messages), page.Next)
			}
			want := []struct {
				body, state string
				receives    int
			}{{"first", PeekInFlight, 1}, {"second", PeekVisible, 0}, {"later", PeekDelayed, 0}}
			for i, w := range want {
				m := page.Messages[i]
				if m.Body != w.body || m.State != w.state || m.ReceiveCount != w.receives {
					t.Errorf("message %d: %q %s receives %d, want %q %s %d", i, m.Body, m.State, m.ReceiveCount, w.body, w.state, w.receives)
				}
			}
			if a := page.Messages[0].Attributes["k"]; a.StringValue != "v" || a.DataType != "String" {
				t.Errorf("attributes: %+v", page.Messages[0].Attributes)
			}
			if page.Visible != 1 || page.InFlight != 1 || page.Delayed != 1 {
				t.Errorf("page counts %d/%d/%d, want 1/1/1", page.Visible, page.InFlight, page.Delayed)
			}
			one, err := q.PeekMessage(ctx, page.Messages[1].ID)
			if err != nil || one.Body != "second" || one.ReceiveCount != 0 {
				t.Fatalf("PeekMessage: %+v, %v", one, err)
			}
		}
		if after := q.Counts(); after != before {
			t.Fatalf("counts changed by peeking: %+v -> %+v", before, after)
		}
		// The visible message is still there for a receive, with its first
		// receive count; the in-flight one is not.
		got = receive(t, q, 10)
		if len(got) != 1 || got[0].Body != "second" || got[0].State.ReceiveCount != 1 {
			t.Fatalf("receive after peek: %v (count %v)", bodies(got), got)
		}
		// The in-flight message comes back when its own timeout ends, not
		// sooner, with a count of 2.
		clk.Advance(29 * time.Second)
		if got := receive(t, q, 10); len(got) != 0 {
			t.Fatalf("in-flight message came back early: %v", bodies(got))
		}
		clk.Advance(2 * time.Second)
		got = receive(t, q, 10)
		var first *Delivery
		for i := range got {
			if got[i].Body == "first" {
				first = &got[i]
			}
		}
		if first == nil || first.State.ReceiveCount != 2 {
			t.Fatalf("after the timeout: %v", bodies(got))
		}
	})
}

// Pages follow the cursor in send order, each at most Limit long, with
// every message exactly once.
func TestPeekPagination(t *testing.T) {
	ctx, e, _ := setup(t)
	q := mustQueue(t, e, "pages", nil)
	const n = 47
	for i := range n {
		send(t, q, SendInput{Body: fmt.Sprintf("m%02d", i)})
	}
	var seen []string
	after, pages := uint64(0), 0
	for {
		page, err := q.Peek(ctx, PeekOptions{After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Messages) > 10 {
			t.Fatalf("page of %d", len(page.Messages))
		}
		for _, m := range page.Messages {
			seen = append(seen, m.Body)
		}
		if page.Next == 0 {
			break
		}
		if page.Next != page.Messages[len(page.Messages)-1].Seq {
			t.Fatalf("next %d is not the last seq of the page", page.Next)
		}
		after = page.Next
	}
	if pages != 5 || len(seen) != n {
		t.Fatalf("%d pages, %d messages", pages, len(seen))
	}
	for i, b := range seen {
		if b != fmt.Sprintf("m%02d", i) {
			t.Fatalf("message %d is %q: out of order", i, b)
		}
	}
	// A deleted message leaves the pages.
	d := receive(t, q, 1)
	if err := q.Delete(ctx, d[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	page, err := q.Peek(ctx, PeekOptions{Limit: 1})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Body != "m01" {
		t.Fatalf("after delete: %+v %v", page.Messages, err)
	}
}

// Page sizes are bounded, bodies in a page are previews, and a message
// that is gone or a queue that is gone get their errors.
func TestPeekBounds(t *testing.T) {
	ctx, e, _ := setup(t)
	q := mustQueue(t, e, "bounds", nil)
	for _, limit := range []int{-1, MaxPeekLimit + 1} {
		if _, err := q.Peek(ctx, PeekOptions{Limit: limit}); CodeOf(err) != ErrInvalidParameterValue {
			t.Errorf("limit %d: %v, want InvalidParameterValue", limit, err)
		}
	}
	for range MaxPeekLimit + 5 {
		send(t, q, SendInput{Body: "x"})
	}
	page, err := q.Peek(ctx, PeekOptions{Limit: MaxPeekLimit})
	if err != nil || len(page.Messages) != MaxPeekLimit || page.Next == 0 {
		t.Fatalf("a full page: %d messages, next %d, %v", len(page.Messages), page.Next, err)
	}
	if page, _ := q.Peek(ctx, PeekOptions{}); len(page.Messages) != DefaultPeekLimit {
		t.Fatalf("default page: %d", len(page.Messages))
	}

	big := strings.Repeat("é", PeekPreviewBytes) // two bytes each
	r := send(t, q, SendInput{Body: big})
	page, err = q.Peek(ctx, PeekOptions{After: page.Next, Limit: MaxPeekLimit})
	if err != nil {
		t.Fatal(err)
	}
	last := page.Messages[len(page.Messages)-1]
	if last.ID != r.MessageID || !last.Truncated || len(last.Body) != PeekPreviewBytes || last.BodySize != len(big) || !strings.HasPrefix(big, last.Body) {
		t.Fatalf("preview: truncated %v, %d of %d bytes", last.Truncated, len(last.Body), last.BodySize)
	}
	whole, err := q.PeekMessage(ctx, r.MessageID)
	if err != nil || whole.Body != big || whole.Truncated {
		t.Fatalf("PeekMessage: %d bytes, %v", len(whole.Body), err)
	}
	if _, err := q.PeekMessage(ctx, "no-such-id"); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if err := e.DeleteQueue(ctx, "bounds"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Peek(ctx, PeekOptions{}); CodeOf(err) != ErrQueueDoesNotExist {
		t.Fatalf("deleted queue: %v", err)
	}
}

// A FIFO queue's messages show their group, deduplication ID and sequence
// number, in send order across groups.
func TestPeekFIFO(t *testing.T) {
	ctx, e, _ := setup(t)
	q := mustQueue(t, e, "orders.fifo", map[string]string{"FifoQueue": "true"})
	for i, g := range []string{"b", "a", "b"} {
		send(t, q, SendInput{Body: fmt.Sprint(i), GroupID: g, DedupID: fmt.Sprint("d", i)})
	}
	receive(t, q, 1) // locks group b
	page, err := q.Peek(ctx, PeekOptions{})
	if err != nil || len(page.Messages) != 3 {
		t.Fatalf("page: %+v %v", page.Messages, err)
	}
	for i, m := range page.Messages {
		if m.Body != fmt.Sprint(i) || m.DedupID != fmt.Sprint("d", i) || m.SequenceNumber == "" {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	if page.Messages[0].State != PeekInFlight || page.Messages[0].GroupID != "b" || page.Messages[1].GroupID != "a" {
		t.Errorf("states and groups: %+v", page.Messages)
	}
}

// Peeking at a dead-letter queue shows where each message came from and
// its receive count; an expired message is not shown.
func TestPeekDeadLetterAndRetention(t *testing.T) {
	ctx, e, clk := setup(t)
	dlq := mustQueue(t, e, "dead", nil)
	src := mustQueue(t, e, "src", map[string]string{
		"VisibilityTimeout":      "1",
		"MessageRetentionPeriod": "120",
		"RedrivePolicy":          `{"deadLetterTargetArn":"` + dlq.ARN() + `","maxReceiveCount":"1"}`,
	})
	send(t, src, SendInput{Body: "poison"})
	receive(t, src, 1)
	clk.Advance(2 * time.Second)
	receive(t, src, 1) // moves it
	page, err := dlq.Peek(ctx, PeekOptions{})
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("dead-letter queue: %+v, %v", page.Messages, err)
	}
	if m := page.Messages[0]; m.DeadLetterSource != src.ARN() || m.ReceiveCount != 1 || m.Body != "poison" {
		t.Fatalf("dead letter: %+v", m)
	}

	send(t, src, SendInput{Body: "old"})
	clk.Advance(121 * time.Second)
	if page, _ := src.Peek(ctx, PeekOptions{}); len(page.Messages) != 0 {
		t.Fatalf("expired message shown: %+v", page.Messages)
	}
}

// A page costs one pass over the queue's messages under its lock.
func BenchmarkPeek100k(b *testing.B) {
	e, err := Open(b.Context(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop(b.Context())
	q, err := e.CreateQueue(b.Context(), "bench", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]SendInput, 10)
	for i := range batch {
		batch[i] = SendInput{Body: strings.Repeat("x", 200)}
	}
	for range 100_000 / len(batch) {
		q.SendBatch(b.Context(), batch)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := q.Peek(b.Context(), PeekOptions{Limit: DefaultPeekLimit, After: 50_000}); err != nil {
			b.Fatal(err)
		}
	}
}
