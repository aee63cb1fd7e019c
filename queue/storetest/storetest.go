// Package storetest is the conformance suite for queue.Store: every store
// implementation runs the same tests, in the way testing/slogtest checks a
// slog.Handler. A store's test file calls Run:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Factory{
//			Open:    func(t *testing.T, dir string) queue.Store { ... },
//			Durable: true,
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/queue"
)

// Factory opens the store under test.
type Factory struct {
	// Open opens the store kept in dir: each test gets a fresh empty
	// directory, and opens it again to check what a durable store kept.
	Open func(t *testing.T, dir string) queue.Store
	// Durable: the store keeps what was committed across Close and Open
	// (false for the in-memory store, which keeps nothing and is checked
	// only for accepting every operation).
	Durable bool
}

// Run runs the suite, each test as a parallel subtest.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name    string
		durable bool
		run     func(t *testing.T, s *suite)
	}{
		{"EmptyLoad", false, testEmptyLoad},
		{"AcceptsEveryOp", false, testAcceptsEveryOp},
		{"ConcurrentCommits", false, testConcurrentCommits},
		{"SurvivesReopen", true, testSurvivesReopen},
		{"MessageRoundTrip", true, testMessageRoundTrip},
		{"LatestStateWins", true, testLatestStateWins},
		{"LazyBatchesApplyInOrder", true, testLazyInOrder},
		{"DeleteQueueDropsMessages", true, testDeleteQueue},
		{"PurgeBelowSeq", true, testPurge},
		{"BadBatchAppliesNothing", true, testBadBatch},
		{"LoadStopsOnCallbackError", true, testLoadCallbackError},
		{"DurableConcurrentCommits", true, testDurableConcurrent},
		{"ReadMessagesWhole", false, testReadWhole},
		{"ReadMessagesLazyPut", false, testReadLazyPut},
		{"ReadMessagesGoneAfterDelete", false, testReadGone},
		{"LoadReadsNoBodies", true, testLoadNoBodies},
		{"ReadMessagesAfterReopen", true, testReadAfterReopen},
	}
	for _, tc := range tests {
		if tc.durable && !f.Durable {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &suite{f: f, dir: t.TempDir()}
			tc.run(t, s)
		})
	}
}

type suite struct {
	f   Factory
	dir string
}

// open opens the suite's store, closing it when the test ends unless the
// test closed it first.
func (s *suite) open(t *testing.T) *handle {
	t.Helper()
	h := &handle{Store: s.f.Open(t, s.dir)}
	t.Cleanup(func() { h.close(t) })
	return h
}

// reopen closes h and opens the same directory again.
func (s *suite) reopen(t *testing.T, h *handle) *handle {
	t.Helper()
	h.close(t)
	return s.open(t)
}

type handle struct {
	queue.Store
	once sync.Once
}

func (h *handle) close(t *testing.T) {
	h.once.Do(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

var ctx = context.Background()

func commit(t *testing.T, st queue.Store, durable bool, ops ...queue.Op) {
	t.Helper()
	if err := st.Commit(ctx, ops, durable); err != nil {
		t.Fatalf("Commit(%v): %v", kinds(ops), err)
	}
}

func kinds(ops []queue.Op) []queue.OpKind {
	out := make([]queue.OpKind, len(ops))
	for i, op := range ops {
		out[i] = op.Kind
	}
	return out
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 123456789, time.UTC)

func queueRec(id uint64, name string) *queue.QueueRecord {
	return &queue.QueueRecord{ID: id, Name: name, Config: queue.DefaultConfig(false), Tags: map[string]string{"team": name}, CreatedAt: t0, ModifiedAt: t0}
}

func msg(seq uint64, body string) *queue.Message {
	return queue.NewStoredMessage(queue.Message{Seq: seq, ID: fmt.Sprintf("id-%d", seq), Body: body, BodyMD5: queue.MD5Hex(body), SentAt: t0, OriginalEnqueueAt: t0})
}

func putQueue(id uint64, name string) queue.Op {
	return queue.Op{Kind: queue.OpPutQueue, QueueID: id, Queue: queueRec(id, name)}
}

func putMsg(qid uint64, m *queue.Message) queue.Op {
	return queue.Op{Kind: queue.OpPutMessage, QueueID: qid, Message: m, State: queue.MessageState{VisibleAt: t0}}
}

// loaded is what Load replayed, each message completed by ReadMessages.
type loaded struct {
	queues []queue.QueueRecord
	msgs   []loadedMsg
}

type loadedMsg struct {
	qid    uint64
	header *queue.Message // as Load replayed it
	m      *queue.Message // as ReadMessages read it back
	st     queue.MessageState
}

func (l loaded) bodies(qid uint64) []string {
	var out []string
	for _, m := range l.msgs {
		if m.qid == qid {
			out = append(out, m.m.Body)
		}
	}
	return out
}

func load(t *testing.T, st queue.Store) loaded {
	t.Helper()
	var l loaded
	err := st.Load(ctx, func(r queue.QueueRecord) error {
		if len(l.msgs) > 0 {
			t.Errorf("queue %d replayed after messages: queues come first", r.ID)
		}
		l.queues = append(l.queues, r)
		return nil
	}, func(qid uint64, m *queue.Message, st queue.MessageState) error {
		for _, prev := range slices.Backward(l.msgs) {
			if prev.qid == qid {
				if prev.header.Seq >= m.Seq {
					t.Errorf("queue %d: seq %d replayed after %d: messages come in sequence order", qid, m.Seq, prev.header.Seq)
				}
				break
			}
		}
		h := *m // m and its strings are valid during the call only
		for _, p := range []*string{&h.ID, &h.Body, &h.BodyMD5, &h.AttributesMD5, &h.SystemMD5, &h.GroupID, &h.DedupID, &h.SequenceNumber, &h.SenderID, &h.DeadLetterSource} {
			*p = strings.Clone(*p)
		}
		l.msgs = append(l.msgs, loadedMsg{qid: qid, header: &h, st: st})
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for i := range l.msgs {
		lm := &l.msgs[i]
		got, err := st.ReadMessages(ctx, lm.qid, []uint64{lm.header.Seq})
		if err != nil {
			t.Fatalf("ReadMessages(%d, %d): %v", lm.qid, lm.header.Seq, err)
		}
		if len(got) != 1 || got[0] == nil {
			t.Fatalf("ReadMessages(%d, %d) = %v: Load replayed a message the store cannot read", lm.qid, lm.header.Seq, got)
		}
		lm.m = got[0]
	}
	return l
}

// readBodies reads seqs of queue qid and returns their bodies, "-" for a
// message the store does not hold.
func readBodies(t *testing.T, st queue.Store, qid uint64, seqs ...uint64) []string {
	t.Helper()
	got, err := st.ReadMessages(ctx, qid, seqs)
	if err != nil {
		t.Fatalf("ReadMessages(%d, %v): %v", qid, seqs, err)
	}
	if len(got) != len(seqs) {
		t.Fatalf("ReadMessages(%d, %v) returned %d messages", qid, seqs, len(got))
	}
	out := make([]string, len(got))
	for i, m := range got {
		switch {
		case m == nil:
			out[i] = "-"
		case m.Seq != seqs[i]:
			t.Fatalf("ReadMessages(%d, %v): message %d is seq %d", qid, seqs, i, m.Seq)
		default:
			out[i] = m.Body
		}
	}
	return out
}

// barrier commits a durable batch, which applies after every lazy one
// made before it: a lazy delete may be read back until then.
func barrier(t *testing.T, st queue.Store) {
	t.Helper()
	commit(t, st, true, putQueue(99, "barrier"))
}

func wholeMessage() *queue.Message {
	return queue.NewStoredMessage(queue.Message{
		Seq: 42, ID: "9b2f3c1e-0000-4000-8000-000000000001", Body: "héllo ✓", BodyMD5: queue.MD5Hex("héllo ✓"),
		Attributes: map[string]queue.AttributeValue{
			"s": {DataType: "String", StringValue: "v"},
			"n": {DataType: "Number.int", StringValue: "7"},
			"b": {DataType: "Binary", BinaryValue: []byte{0, 1, 255}},
		},
		AttributesMD5:     "attrmd5",
		SystemAttributes:  map[string]queue.AttributeValue{"AWSTraceHeader": {DataType: "String", StringValue: "Root=1"}},
		SystemMD5:         "sysmd5",
		SentAt:            t0,
		GroupID:           "g",
		DedupID:           "d",
		SequenceNumber:    "00000000000000000042",
		SenderID:          "AIDA",
		DeadLetterSource:  "arn:aws:sqs:us-east-1:000000000000:src",
		OriginalEnqueueAt: t0.Add(-time.Hour),
	})
}

// sameMessage compares every field; with body false, all but Body,
// Attributes and SystemAttributes.
func sameMessage(g, m *queue.Message, body bool) bool {
	if g.Seq != m.Seq || g.ID != m.ID || g.BodyMD5 != m.BodyMD5 || g.AttributesMD5 != m.AttributesMD5 ||
		g.SystemMD5 != m.SystemMD5 || g.GroupID != m.GroupID || g.DedupID != m.DedupID || g.SequenceNumber != m.SequenceNumber ||
		g.SenderID != m.SenderID || g.DeadLetterSource != m.DeadLetterSource || !g.SentAt.Equal(m.SentAt) || !g.OriginalEnqueueAt.Equal(m.OriginalEnqueueAt) {
		return false
	}
	return !body || (g.Body == m.Body && attrsEqual(g.Attributes, m.Attributes) && attrsEqual(g.SystemAttributes, m.SystemAttributes))
}

// testReadWhole: a message reads back whole, body and attributes
// included, in the order asked, with nil for one never stored.
func testReadWhole(t *testing.T, s *suite) {
	st := s.open(t)
	m := wholeMessage()
	commit(t, st, true, putQueue(1, "q"), queue.Op{Kind: queue.OpPutMessage, QueueID: 1, Message: m, State: queue.MessageState{VisibleAt: t0}})
	commit(t, st, true, putMsg(1, msg(7, "seven")))
	got, err := st.ReadMessages(ctx, 1, []uint64{7, 99, 42})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] == nil || got[0].Body != "seven" || got[1] != nil || got[2] == nil {
		t.Fatalf("ReadMessages(7, 99, 42) = %v", got)
	}
	if !sameMessage(got[2], m, true) {
		t.Errorf("message\n got %+v\nwant %+v", got[2], m)
	}
	if got := readBodies(t, st, 2, 7); got[0] != "-" {
		t.Errorf("queue 2 has message 7 of queue 1: %v", got)
	}
}

// testReadLazyPut: a message put by a lazy commit (a move between queues)
// reads back at once.
func testReadLazyPut(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "q"))
	commit(t, st, false, putMsg(1, msg(3, "moved")))
	if got := readBodies(t, st, 1, 3); got[0] != "moved" {
		t.Fatalf("lazily put message read as %v", got)
	}
}

// testReadGone: deleting a message, purging, deleting the queue and a lazy
// delete each remove the bodies: nothing is left to read.
func testReadGone(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "q"), putQueue(2, "dead"))
	for seq := uint64(1); seq <= 6; seq++ {
		commit(t, st, true, putMsg(1, msg(seq, fmt.Sprint(seq))), putMsg(2, msg(seq, fmt.Sprint(seq))))
	}
	commit(t, st, true, queue.Op{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: 1})
	commit(t, st, false, queue.Op{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: 2})
	commit(t, st, true, queue.Op{Kind: queue.OpPurge, QueueID: 1, Seq: 5})
	commit(t, st, true, queue.Op{Kind: queue.OpDeleteQueue, QueueID: 2})
	if got := readBodies(t, st, 1, 1, 2, 3, 4, 5, 6); !slices.Equal(got, []string{"-", "-", "-", "-", "5", "6"}) {
		t.Fatalf("queue 1 after deletes and a purge below 5: %v", got)
	}
	if got := readBodies(t, st, 2, 1, 6); !slices.Equal(got, []string{"-", "-"}) {
		t.Fatalf("deleted queue 2 still holds %v", got)
	}
	commit(t, st, false, queue.Op{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: 5}, queue.Op{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: 6})
	barrier(t, st)
	if got := readBodies(t, st, 1, 5, 6); !slices.Equal(got, []string{"-", "-"}) {
		t.Fatalf("after deleting every message the store holds %v", got)
	}
}

// testLoadNoBodies: Load replays every field but the body and attributes.
func testLoadNoBodies(t *testing.T, s *suite) {
	st := s.open(t)
	m := wholeMessage()
	commit(t, st, true, putQueue(1, "q"), queue.Op{Kind: queue.OpPutMessage, QueueID: 1, Message: m, State: queue.MessageState{VisibleAt: t0}})
	l := load(t, s.reopen(t, st))
	if len(l.msgs) != 1 {
		t.Fatalf("%d messages", len(l.msgs))
	}
	h := l.msgs[0].header
	if h.Body != "" || h.Attributes != nil || h.SystemAttributes != nil {
		t.Errorf("Load replayed the body or attributes: %+v", h)
	}
	if !sameMessage(h, m, false) {
		t.Errorf("Load replayed\n %+v\nwant %+v", h, m)
	}
}

// testReadAfterReopen: bodies survive a reopen, and a delete after it
// removes them.
func testReadAfterReopen(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "q"), putMsg(1, msg(1, "a")), putMsg(1, msg(2, "b")))
	st = s.reopen(t, st)
	load(t, st)
	if got := readBodies(t, st, 1, 1, 2); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after reopen: %v", got)
	}
	commit(t, st, false, queue.Op{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: 1})
	barrier(t, st)
	if got := readBodies(t, st, 1, 1, 2); !slices.Equal(got, []string{"-", "b"}) {
		t.Fatalf("after a delete: %v", got)
	}
}

func testEmptyLoad(t *testing.T, s *suite) {
	st := s.open(t)
	if l := load(t, st); len(l.queues)+len(l.msgs) != 0 {
		t.Fatalf("a new store replayed %d queues and %d messages", len(l.queues), len(l.msgs))
	}
}

// every kind of op, durable and lazy
func everyOp(qid uint64) [][]queue.Op {
	m := msg(1, "a")
	return [][]queue.Op{
		{putQueue(qid, "q")},
		{putMsg(qid, m), putMsg(qid, msg(2, "b"))},
		{{Kind: queue.OpUpdateMessage, QueueID: qid, Seq: m.Seq, State: queue.MessageState{ReceiveCount: 1, VisibleAt: t0.Add(time.Minute), Receipt: 7}}},
		{{Kind: queue.OpDeleteMessage, QueueID: qid, Seq: 1}},
		{{Kind: queue.OpPurge, QueueID: qid, Seq: 3}},
		{{Kind: queue.OpDeleteQueue, QueueID: qid}},
	}
}

func testAcceptsEveryOp(t *testing.T, s *suite) {
	st := s.open(t)
	for _, durable := range []bool{true, false} {
		for _, ops := range everyOp(1) {
			commit(t, st, durable, ops...)
		}
	}
}

func testConcurrentCommits(t *testing.T, s *suite) {
	st := s.open(t)
	concurrentSends(t, st, 8, 50)
}

// concurrentSends commits n durable puts from each of w goroutines, with a
// lazy update after each, into queue 1.
func concurrentSends(t *testing.T, st queue.Store, w, n int) {
	t.Helper()
	commit(t, st, true, putQueue(1, "q"))
	var wg sync.WaitGroup
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				m := msg(uint64(g*n+i+1), fmt.Sprintf("g%d-%d", g, i))
				if err := st.Commit(ctx, []queue.Op{putMsg(1, m)}, true); err != nil {
					t.Error(err)
					return
				}
				up := queue.Op{Kind: queue.OpUpdateMessage, QueueID: 1, Seq: m.Seq, State: queue.MessageState{ReceiveCount: 1, VisibleAt: t0, Receipt: 1}}
				if err := st.Commit(ctx, []queue.Op{up}, false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func testDurableConcurrent(t *testing.T, s *suite) {
	st := s.open(t)
	concurrentSends(t, st, 8, 50)
	l := load(t, s.reopen(t, st))
	if len(l.msgs) != 400 {
		t.Fatalf("%d messages after reopen, want 400", len(l.msgs))
	}
	for _, m := range l.msgs {
		if m.st.ReceiveCount != 1 {
			t.Fatalf("message %d lost its lazy update: %+v", m.header.Seq, m.st)
		}
	}
}

func testSurvivesReopen(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "one"), putQueue(2, "two"))
	commit(t, st, true, putMsg(1, msg(10, "a")), putMsg(1, msg(11, "b")), putMsg(2, msg(5, "c")))
	commit(t, st, false, queue.Op{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: 10})
	rec := queueRec(2, "two")
	rec.Tags = map[string]string{"changed": "yes"}
	commit(t, st, true, queue.Op{Kind: queue.OpPutQueue, QueueID: 2, Queue: rec})
	l := load(t, s.reopen(t, st))
	if len(l.queues) != 2 {
		t.Fatalf("queues %+v", l.queues)
	}
	for _, q := range l.queues {
		want := queueRec(q.ID, q.Name)
		if q.ID == 2 {
			want = rec
		}
		if q.Name != want.Name || !maps.Equal(q.Tags, want.Tags) || !q.CreatedAt.Equal(want.CreatedAt) || q.Config.Retention != want.Config.Retention {
			t.Errorf("queue %d: %+v, want %+v", q.ID, q, want)
		}
	}
	if got := l.bodies(1); !slices.Equal(got, []string{"b"}) {
		t.Errorf("queue 1: %v, want [b]", got)
	}
	if got := l.bodies(2); !slices.Equal(got, []string{"c"}) {
		t.Errorf("queue 2: %v, want [c]", got)
	}
}

func testMessageRoundTrip(t *testing.T, s *suite) {
	st := s.open(t)
	m := wholeMessage()
	state := queue.MessageState{ReceiveCount: 3, FirstReceiveAt: t0.Add(time.Second), ReceivedAt: t0.Add(2 * time.Second), VisibleAt: t0.Add(time.Minute), Receipt: 99}
	commit(t, st, true, putQueue(1, "q"), queue.Op{Kind: queue.OpPutMessage, QueueID: 1, Message: m, State: state})
	l := load(t, s.reopen(t, st))
	if len(l.msgs) != 1 {
		t.Fatalf("%d messages", len(l.msgs))
	}
	got := l.msgs[0]
	g := got.m
	if !sameMessage(g, m, false) {
		t.Errorf("message\n got %+v\nwant %+v", g, m)
	}
	if !attrsEqual(g.Attributes, m.Attributes) || !attrsEqual(g.SystemAttributes, m.SystemAttributes) {
		t.Errorf("attributes %+v %+v, want %+v %+v", g.Attributes, g.SystemAttributes, m.Attributes, m.SystemAttributes)
	}
	if !stateEqual(got.st, state) {
		t.Errorf("state %+v, want %+v", got.st, state)
	}
}

func attrsEqual(a, b map[string]queue.AttributeValue) bool {
	return maps.EqualFunc(a, b, func(x, y queue.AttributeValue) bool {
		return x.DataType == y.DataType && x.StringValue == y.StringValue && slices.Equal(x.BinaryValue, y.BinaryValue)
	})
}

func stateEqual(a, b queue.MessageState) bool {
	return a.ReceiveCount == b.ReceiveCount && a.Receipt == b.Receipt && a.FirstReceiveAt.Equal(b.FirstReceiveAt) &&
		a.ReceivedAt.Equal(b.ReceivedAt) && a.VisibleAt.Equal(b.VisibleAt)
}

func testLatestStateWins(t *testing.T, s *suite) {
	st := s.open(t)
	m := msg(1, "a")
	commit(t, st, true, putQueue(1, "q"), putMsg(1, m))
	for i := 1; i <= 3; i++ {
		commit(t, st, false, queue.Op{Kind: queue.OpUpdateMessage, QueueID: 1, Seq: m.Seq, State: queue.MessageState{ReceiveCount: i, VisibleAt: t0.Add(time.Duration(i) * time.Minute), Receipt: uint64(i)}})
	}
	l := load(t, s.reopen(t, st))
	if len(l.msgs) != 1 || l.msgs[0].st.ReceiveCount != 3 || l.msgs[0].st.Receipt != 3 {
		t.Fatalf("replayed %+v, want the third state", l.msgs)
	}
}

func testLazyInOrder(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "q"))
	// A lazy delete, then a durable send of a new message, then a lazy
	// update of a deleted message: each applies in the order made.
	a, b := msg(1, "a"), msg(2, "b")
	commit(t, st, true, putMsg(1, a), putMsg(1, b))
	commit(t, st, false, queue.Op{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: 1})
	commit(t, st, true, putMsg(1, msg(3, "c")))
	commit(t, st, false, queue.Op{Kind: queue.OpUpdateMessage, QueueID: 1, Seq: b.Seq, State: queue.MessageState{ReceiveCount: 1, VisibleAt: t0, Receipt: 5}})
	commit(t, st, false, queue.Op{Kind: queue.OpDeleteMessage, QueueID: 1, Seq: 2})
	l := load(t, s.reopen(t, st))
	if got := l.bodies(1); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("replayed %v, want [c]", got)
	}
}

func testDeleteQueue(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "gone"), putQueue(2, "kept"))
	commit(t, st, true, putMsg(1, msg(1, "x")), putMsg(1, msg(1<<62, "far")), putMsg(2, msg(1, "y")))
	commit(t, st, false, queue.Op{Kind: queue.OpUpdateMessage, QueueID: 1, Seq: 1, State: queue.MessageState{ReceiveCount: 1, Receipt: 1}})
	commit(t, st, true, queue.Op{Kind: queue.OpDeleteQueue, QueueID: 1})
	l := load(t, s.reopen(t, st))
	if len(l.queues) != 1 || l.queues[0].ID != 2 {
		t.Fatalf("queues %+v, want only 2", l.queues)
	}
	if len(l.bodies(1)) != 0 || !slices.Equal(l.bodies(2), []string{"y"}) {
		t.Fatalf("messages %v / %v", l.bodies(1), l.bodies(2))
	}
}

func testPurge(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "p"), putQueue(2, "other"))
	commit(t, st, true, putMsg(1, msg(5, "a")), putMsg(1, msg(6, "b")), putMsg(1, msg(9, "c")), putMsg(2, msg(1, "d")))
	commit(t, st, true, queue.Op{Kind: queue.OpPurge, QueueID: 1, Seq: 9})
	commit(t, st, true, putMsg(1, msg(10, "after")))
	l := load(t, s.reopen(t, st))
	if got := l.bodies(1); !slices.Equal(got, []string{"c", "after"}) {
		t.Fatalf("queue 1 after purge below 9: %v", got)
	}
	if got := l.bodies(2); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("purge touched queue 2: %v", got)
	}
}

func testBadBatch(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "q"))
	for _, durable := range []bool{true, false} {
		err := st.Commit(ctx, []queue.Op{putMsg(1, msg(1, "half")), {Kind: 200, QueueID: 1}}, durable)
		if err == nil {
			t.Fatalf("a batch with an unknown op kind was accepted (durable %v)", durable)
		}
	}
	l := load(t, s.reopen(t, st))
	if len(l.msgs) != 0 {
		t.Fatalf("a refused batch left %v", l.bodies(1))
	}
}

func testLoadCallbackError(t *testing.T, s *suite) {
	st := s.open(t)
	commit(t, st, true, putQueue(1, "q"), putMsg(1, msg(1, "a")), putMsg(1, msg(2, "b")))
	st = s.reopen(t, st)
	stop := errors.New("stop here")
	calls := 0
	err := st.Load(ctx, func(queue.QueueRecord) error { return nil }, func(uint64, *queue.Message, queue.MessageState) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Load returned %v after %d calls; want the callback's error after 1", err, calls)
	}
}
