package queue

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// Peeking reads a queue's messages the way an operator looks at them: it
// changes nothing. No receipt is issued, the receive count and the
// visibility stay as they are, and nothing is written to the store, so a
// message that is peeked at is delivered exactly as if it had not been.
//
// A page is read under the queue's lock: one pass over the queue's
// in-memory index picks the page (the messages whose Seq follows the
// cursor, in Seq order, which is send order) and copies out their states.
// The messages themselves (ID, body, attributes) are read after the lock
// is released, from the body cache or the store, through loadMessages.

// Peek page sizes.
const (
	DefaultPeekLimit = 20  // messages in a page when the caller names no limit
	MaxPeekLimit     = 100 // the most messages a page holds
	// PeekPreviewBytes is how much of each body a page carries; Peek
	// returns the whole body.
	PeekPreviewBytes = 256
)

// Peeked message states.
const (
	PeekVisible  = "visible"  // a ReceiveMessage could return it now
	PeekInFlight = "inflight" // received, its visibility timeout running
	PeekDelayed  = "delayed"  // sent with a delay that has not passed
)

// PeekOptions choose a page of messages.
type PeekOptions struct {
	// After is the cursor: the page starts with the first message whose
	// Seq is greater. 0 starts at the oldest message.
	After uint64
	// Limit is the page size, 1..MaxPeekLimit; 0 means DefaultPeekLimit.
	Limit int
}

// PeekPage is one page of a queue's messages.
type PeekPage struct {
	Queue    string          `json:"queue"`
	Messages []PeekedMessage `json:"messages"`
	// Next is the cursor of the following page (PeekOptions.After), or 0
	// when this page holds the last message.
	Next uint64 `json:"next,omitempty"`
	// Visible, InFlight and Delayed are the queue's counts at Time.
	Visible  int `json:"visible"`
	InFlight int `json:"inFlight"`
	Delayed  int `json:"delayed"`
	// Time is when the page was read, by the engine's clock.
	Time time.Time `json:"time"`
}

// PeekedMessage is a copy of one message and its state, for reading.
type PeekedMessage struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
	// Body is the whole body from Peek; in a page, its first
	// PeekPreviewBytes (cut on a character boundary), with Truncated set
	// when there is more.
	Body      string `json:"body"`
	Truncated bool   `json:"truncated,omitempty"`
	BodySize  int    `json:"bodySize"`
	BodyMD5   string `json:"bodyMD5"`

	Attributes       map[string]PeekedAttribute `json:"attributes,omitempty"`
	SystemAttributes map[string]PeekedAttribute `json:"systemAttributes,omitempty"`

	State        string    `json:"state"` // PeekVisible, PeekInFlight or PeekDelayed
	ReceiveCount int       `json:"receiveCount"`
	SentAt       time.Time `json:"sentAt"`
	// AgeMillis is how long ago the message was sent, at PeekPage.Time.
	AgeMillis      int64     `json:"ageMillis"`
	FirstReceiveAt time.Time `json:"firstReceiveAt,omitzero"`
	ReceivedAt     time.Time `json:"receivedAt,omitzero"`
	// VisibleAt is when an in-flight or delayed message becomes visible.
	VisibleAt time.Time `json:"visibleAt,omitzero"`

	GroupID          string    `json:"groupId,omitempty"`
	DedupID          string    `json:"dedupId,omitempty"`
	SequenceNumber   string    `json:"sequenceNumber,omitempty"`
	SenderID         string    `json:"senderId,omitempty"`
	DeadLetterSource string    `json:"deadLetterSource,omitempty"`
	EnqueuedAt       time.Time `json:"enqueuedAt"`
}

// PeekedAttribute is a message attribute; a binary value is base64 in
// JSON.
type PeekedAttribute struct {
	DataType    string `json:"dataType"`
	StringValue string `json:"stringValue,omitempty"`
	BinaryValue []byte `json:"binaryValue,omitempty"`
}

// Peek returns a page of q's messages in send order, changing nothing.
// Messages past their retention period, which no receive would return,
// are left out.
func (q *Queue) Peek(ctx context.Context, o PeekOptions) (PeekPage, error) {
	if o.Limit == 0 {
		o.Limit = DefaultPeekLimit
	}
	if o.Limit < 1 || o.Limit > MaxPeekLimit {
		return PeekPage{}, invalidParam("Limit", o.Limit, fmt.Sprintf("Value must be between 1 and %d.", MaxPeekLimit))
	}
	page := PeekPage{Queue: q.name, Messages: []PeekedMessage{}}
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return PeekPage{}, queueDoesNotExist()
	}
	now := q.e.clk.Now()
	page.Time = now
	q.promoteLocked(now) // as Counts does: the counts agree with the states
	c := q.countsLocked()
	page.Visible, page.InFlight, page.Delayed = c.Visible, c.Inflight, c.Delayed
	// pick holds the page's entries (at most Limit+1, to know whether
	// another page follows) as a max-heap on seq.
	pick := make(seqHeap, 0, o.Limit+1)
	q.forEachLocked(func(m *entry) {
		if m.deleted() || m.seq <= o.After || len(pick) > o.Limit && m.seq >= pick[0].seq || q.expiredLocked(m, now) {
			return
		}
		if len(pick) <= o.Limit {
			pick.push(m)
		} else {
			pick[0] = m
			pick.down(0)
		}
	})
	ents := pick.sorted()
	if len(ents) > o.Limit {
		ents = ents[:o.Limit]
		page.Next = ents[len(ents)-1].seq
	}
	states := make([]peekState, len(ents))
	seqs := make([]uint64, len(ents))
	for i, m := range ents {
		states[i], seqs[i] = peekStateLocked(m), m.seq
	}
	q.mu.Unlock()

	msgs, err := q.loadMessages(ctx, seqs)
	if err != nil {
		return PeekPage{}, fmt.Errorf("peek %s: %w", q.name, err)
	}
	for i, m := range msgs {
		if m == nil {
			continue // deleted since the lock was released
		}
		p := peeked(m, states[i], now)
		p.BodySize = len(m.Body)
		p.Body, p.Truncated = preview(m.Body, PeekPreviewBytes)
		page.Messages = append(page.Messages, p)
	}
	return page, nil
}

// peekScanBatch is how many messages PeekMessage reads from the store at a
// time while it looks for an ID.
const peekScanBatch = 256

// PeekMessage returns the message with the given message ID, whole,
// changing nothing. Message IDs are not kept in memory, so it reads the
// queue's messages in send order, peekScanBatch at a time, until it finds
// the ID: its cost grows with the queue. Peek by page is the cheap way.
func (q *Queue) PeekMessage(ctx context.Context, id string) (PeekedMessage, error) {
	for after := uint64(0); ; {
		q.mu.Lock()
		if q.deleted {
			q.mu.Unlock()
			return PeekedMessage{}, queueDoesNotExist()
		}
		now := q.e.clk.Now()
		pick := make(seqHeap, 0, peekScanBatch)
		q.forEachLocked(func(m *entry) {
			if m.deleted() || m.seq <= after || len(pick) == peekScanBatch && m.seq >= pick[0].seq || q.expiredLocked(m, now) {
				return
			}
			if len(pick) < peekScanBatch {
				pick.push(m)
			} else {
				pick[0] = m
				pick.down(0)
			}
		})
		ents := pick.sorted()
		states := make([]peekState, len(ents))
		seqs := make([]uint64, len(ents))
		for i, m := range ents {
			states[i], seqs[i] = peekStateLocked(m), m.seq
		}
		q.mu.Unlock()
		if len(ents) == 0 {
			return PeekedMessage{}, ErrMessageNotFound
		}
		msgs, err := q.loadMessages(ctx, seqs)
		if err != nil {
			return PeekedMessage{}, fmt.Errorf("peek %s: %w", q.name, err)
		}
		for i, m := range msgs {
			if m != nil && m.ID == id {
				p := peeked(m, states[i], now)
				p.Body, p.BodySize = m.Body, len(m.Body)
				return p, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return PeekedMessage{}, err
		}
		after = seqs[len(seqs)-1]
	}
}

// ErrMessageNotFound is PeekMessage's answer for an ID the queue does not
// hold (never sent, deleted, expired or moved).
var ErrMessageNotFound = errorf(ErrResourceNotFound, "The message does not exist in this queue.")

// peekState is what the in-memory index says of a message.
type peekState struct {
	st       MessageState
	inflight bool
}

// peekStateLocked copies m's state. q.mu must be held.
func peekStateLocked(m *entry) peekState {
	return peekState{st: m.state(), inflight: m.inflight()}
}

// peeked describes m in state ps at now.
func peeked(m *Message, ps peekState, now time.Time) PeekedMessage {
	st := ps.st
	p := PeekedMessage{
		Seq: m.Seq, ID: m.ID, BodyMD5: m.BodyMD5,
		Attributes: peekAttrs(m.Attributes), SystemAttributes: peekAttrs(m.SystemAttributes),
		ReceiveCount: st.ReceiveCount, SentAt: m.SentAt, AgeMillis: now.Sub(m.SentAt).Milliseconds(),
		FirstReceiveAt: st.FirstReceiveAt, ReceivedAt: st.ReceivedAt,
		GroupID: m.GroupID, DedupID: m.DedupID, SequenceNumber: m.SequenceNumber, SenderID: m.SenderID,
		DeadLetterSource: m.DeadLetterSource, EnqueuedAt: m.OriginalEnqueueAt,
		State: PeekVisible,
	}
	if st.VisibleAt.After(now) {
		p.VisibleAt = st.VisibleAt
		p.State = PeekDelayed
		if ps.inflight {
			p.State = PeekInFlight
		}
	}
	return p
}

func peekAttrs(a map[string]AttributeValue) map[string]PeekedAttribute {
	if len(a) == 0 {
		return nil
	}
	out := make(map[string]PeekedAttribute, len(a))
	for k, v := range a {
		out[k] = PeekedAttribute{DataType: v.DataType, StringValue: v.StringValue, BinaryValue: append([]byte(nil), v.BinaryValue...)}
	}
	return out
}

// preview cuts s to at most n bytes on a character boundary and reports
// whether it cut.
func preview(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// seqHeap is a max-heap of index entries on seq.
type seqHeap []*entry

func (h *seqHeap) push(m *entry) {
	*h = append(*h, m)
	for j := len(*h) - 1; j > 0; {
		i := (j - 1) / 2
		if (*h)[i].seq >= (*h)[j].seq {
			break
		}
		(*h)[i], (*h)[j] = (*h)[j], (*h)[i]
		j = i
	}
}

func (h seqHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && h[r].seq > h[l].seq {
			j = r
		}
		if h[i].seq >= h[j].seq {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// sorted empties the heap into a slice in ascending seq order.
func (h seqHeap) sorted() []*entry {
	out := make([]*entry, len(h))
	for n := len(h); n > 0; n-- {
		out[n-1] = h[0]
		h[0] = h[n-1]
		h = h[:n-1]
		h.down(0)
	}
	return out
}
