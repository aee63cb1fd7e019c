package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Queue is one queue. Its methods are safe for concurrent use.
type Queue struct {
	e    *Engine
	id   uint64 // unique per created queue, survives restarts
	name string
	arn  string

	mu          sync.Mutex // guards every field below
	cfg         Config
	tags        map[string]string
	createdAt   time.Time
	modifiedAt  time.Time
	deleted     bool
	nextSeq     uint64
	numLive     int               // messages in the queue
	bySeq       map[uint64]*entry // messages ever received (the ones a receipt handle can name), by seq
	fresh       freshList         // plain messages (visible, never received) in send order
	ready       deque             // standard: the other visible messages, in the order they became visible
	groups      map[string]*group // FIFO: messages by group
	groupOrder  []*group          // FIFO: groups in the order they got their first message
	timing      timingHeap        // delayed and in-flight messages by VisibleAt
	age         ageHeap           // messages not in flight and not plain, by SentAt (OldestAge)
	expiry      expiryHeap        // messages not plain, by OriginalEnqueueAt (retention sweeps)
	numInflight int
	numDelayed  int
	dedup       map[string]dedupEntry
	dedupOrder  []dedupKeyAt
	lastPurge   time.Time
	purgedBelow uint64 // messages with a smaller Seq were purged
	waiters     waiterList
	stats       Stats
}

// group is one FIFO message group: its messages in order, and how many of
// them are in flight (the group is locked while any is).
type group struct {
	id       string
	msgs     deque
	inflight int
}

type dedupEntry struct {
	id     string
	seqNum string
	at     time.Time
}

type dedupKeyAt struct {
	key string
	at  time.Time
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// ARN returns the queue's ARN.
func (q *Queue) ARN() string { return q.arn }

// ID returns the queue's internal id.
func (q *Queue) ID() uint64 { return q.id }

// IsFIFO reports whether this is a FIFO queue.
func (q *Queue) IsFIFO() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cfg.Fifo
}

// SendInput is one message to send.
type SendInput struct {
	Body             string
	Delay            *time.Duration // nil: the queue's DelaySeconds
	Attributes       map[string]AttributeValue
	SystemAttributes map[string]AttributeValue
	GroupID          string
	DedupID          string
	SenderID         string
}

// SendResult is what SendMessage answers.
type SendResult struct {
	MessageID      string
	BodyMD5        string
	AttributesMD5  string
	SystemMD5      string
	SequenceNumber string
}

// SendOutcome is one entry's result in a batch: Err or Result.
type SendOutcome struct {
	Result SendResult
	Err    *Error
}

// Send sends one message.
func (q *Queue) Send(ctx context.Context, in SendInput) (SendResult, error) {
	out := q.SendBatch(ctx, []SendInput{in})
	if out[0].Err != nil {
		return SendResult{}, out[0].Err
	}
	return out[0].Result, nil
}

// SendBatch sends several messages and makes them durable together: every
// accepted message is on stable storage when SendBatch returns. Entries fail
// one by one; a storage failure fails every accepted entry.
func (q *Queue) SendBatch(ctx context.Context, ins []SendInput) []SendOutcome {
	out := make([]SendOutcome, len(ins))
	fresh := make([]*Message, 0, len(ins))
	freshAt := make([]time.Time, 0, len(ins)) // when each becomes visible
	freshIdx := make([]int, 0, len(ins))

	q.mu.Lock()
	// Read under the lock that numbers the messages: a queue's sequence
	// numbers and send times then go up together, which keeps its messages
	// plain (the fresh list wants both in order).
	now := q.e.clk.Now()
	if q.deleted {
		q.mu.Unlock()
		for i := range out {
			out[i].Err = queueDoesNotExist()
		}
		return out
	}
	for i := range ins {
		m, visibleAt, res, err := q.prepareLocked(&ins[i], now)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Result = res
		if m != nil { // nil: a FIFO duplicate, answered but not stored
			fresh = append(fresh, m)
			freshAt = append(freshAt, visibleAt)
			freshIdx = append(freshIdx, i)
		}
	}
	q.mu.Unlock()
	if len(fresh) == 0 {
		return out
	}

	ops := make([]Op, len(fresh))
	for i, m := range fresh {
		ops[i] = Op{Kind: OpPutMessage, QueueID: q.id, Message: m, State: MessageState{VisibleAt: freshAt[i]}}
	}
	if err := q.e.store.Commit(ctx, ops, true); err != nil {
		q.mu.Lock()
		for _, m := range fresh {
			q.forgetDedupLocked(m)
		}
		q.mu.Unlock()
		for _, i := range freshIdx {
			out[i] = SendOutcome{Err: storeFailure(err)}
		}
		return out
	}

	// Cached before they are listed: a receive that finds them finds
	// their bodies here rather than in the store.
	for _, m := range fresh {
		q.e.cache.put(q.id, m)
	}
	q.mu.Lock()
	if !q.deleted {
		for i, m := range fresh {
			if m.Seq < q.purgedBelow {
				continue
			}
			q.insertLocked(newEntry(m, ops[i].State), m.GroupID, nanos(now))
		}
		q.stats.Sent += uint64(len(fresh))
		q.wakeLocked(len(fresh))
	}
	q.mu.Unlock()
	return out
}

// prepareLocked validates one send and builds its message. It returns a nil
// message for a FIFO duplicate within the deduplication window.
func (q *Queue) prepareLocked(in *SendInput, now time.Time) (*Message, time.Time, SendResult, *Error) {
	m, res, err := q.prepareMessageLocked(in, now)
	if m == nil || err != nil {
		return nil, time.Time{}, res, err
	}
	delay := q.cfg.Delay
	if in.Delay != nil {
		delay = *in.Delay
	}
	return m, now.Add(delay), res, nil
}

func (q *Queue) prepareMessageLocked(in *SendInput, now time.Time) (*Message, SendResult, *Error) {
	cfg := &q.cfg
	if in.Body == "" {
		return nil, SendResult{}, errorf(ErrMissingParameter, "The request must contain the parameter MessageBody.")
	}
	if !validBody(in.Body) {
		return nil, SendResult{}, errorf(ErrInvalidMessageContents, "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
	}
	if err := validateAttributes(in.Attributes, false); err != nil {
		return nil, SendResult{}, err
	}
	if err := validateAttributes(in.SystemAttributes, true); err != nil {
		return nil, SendResult{}, err
	}
	if size := messageSize(in.Body, in.Attributes); size > cfg.MaximumMessageSize {
		return nil, SendResult{}, errorf(ErrInvalidParameterValue, invalidPrefix+tooLongReason+" %d bytes.", cfg.MaximumMessageSize)
	}
	if in.Delay != nil {
		if cfg.Fifo && *in.Delay != 0 { // FIFO queues take only the queue's delay; 0 is allowed
			return nil, SendResult{}, invalidParam("DelaySeconds", int64(*in.Delay/time.Second), "The request include parameter that is not valid for this queue type")
		}
		if err := DelaySecondsRange.checkDuration(*in.Delay); err != nil {
			return nil, SendResult{}, err
		}
	}
	m := &Message{
		ID:                NewUUID(),
		Body:              in.Body,
		BodyMD5:           MD5Hex(in.Body),
		Attributes:        in.Attributes,
		AttributesMD5:     AttributesMD5(in.Attributes),
		SystemAttributes:  in.SystemAttributes,
		SystemMD5:         AttributesMD5(in.SystemAttributes),
		SentAt:            now,
		OriginalEnqueueAt: now,
		SenderID:          in.SenderID,
	}
	if cfg.Fifo {
		if in.GroupID == "" {
			return nil, SendResult{}, errorf(ErrMissingParameter, "The request must contain the parameter MessageGroupId.")
		}
		if err := checkFifoID("MessageGroupId", in.GroupID); err != nil {
			return nil, SendResult{}, err
		}
		dedupID := in.DedupID
		if dedupID == "" {
			if !cfg.ContentBasedDeduplication {
				return nil, SendResult{}, errorf(ErrInvalidParameterValue, "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			sum := sha256.Sum256([]byte(in.Body))
			dedupID = hex.EncodeToString(sum[:])
		} else if err := checkFifoID("MessageDeduplicationId", dedupID); err != nil {
			return nil, SendResult{}, err
		}
		m.GroupID = in.GroupID
		m.DedupID = dedupID
		key := dedupID
		if cfg.DeduplicationScope == "messageGroup" {
			key = in.GroupID + "\x00" + dedupID
		}
		q.expireDedupLocked(now)
		if d, ok := q.dedup[key]; ok {
			return nil, SendResult{MessageID: d.id, BodyMD5: m.BodyMD5, AttributesMD5: m.AttributesMD5, SystemMD5: m.SystemMD5, SequenceNumber: d.seqNum}, nil
		}
		m.Seq = q.nextSeqLocked()
		m.SequenceNumber = fmt.Sprintf("%020d", m.Seq)
		q.dedup[key] = dedupEntry{id: m.ID, seqNum: m.SequenceNumber, at: now}
		q.dedupOrder = append(q.dedupOrder, dedupKeyAt{key, now})
	} else {
		if in.GroupID != "" {
			if err := checkFifoID("MessageGroupId", in.GroupID); err != nil {
				return nil, SendResult{}, err
			}
			m.GroupID = in.GroupID // fair queues: kept and returned, no ordering
		}
		if in.DedupID != "" {
			return nil, SendResult{}, invalidParam("MessageDeduplicationId", in.DedupID, "The request includes a parameter that is not valid for this queue type")
		}
		m.Seq = q.nextSeqLocked()
	}
	return m, SendResult{MessageID: m.ID, BodyMD5: m.BodyMD5, AttributesMD5: m.AttributesMD5, SystemMD5: m.SystemMD5, SequenceNumber: m.SequenceNumber}, nil
}

func checkFifoID(param, v string) *Error {
	if len(v) > 128 {
		return invalidParam(param, v, param+" can only include alphanumeric and punctuation characters. 1 to 128 in length")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e {
			return invalidParam(param, v, param+" can only include alphanumeric and punctuation characters. 1 to 128 in length")
		}
	}
	return nil
}

func (q *Queue) nextSeqLocked() uint64 {
	q.nextSeq++
	return q.nextSeq
}

func (q *Queue) expireDedupLocked(now time.Time) {
	cut := now.Add(-DedupWindow)
	i := 0
	for ; i < len(q.dedupOrder) && !q.dedupOrder[i].at.After(cut); i++ {
		k := q.dedupOrder[i]
		if d, ok := q.dedup[k.key]; ok && d.at.Equal(k.at) {
			delete(q.dedup, k.key)
		}
	}
	if i > 0 {
		q.dedupOrder = append(q.dedupOrder[:0], q.dedupOrder[i:]...)
	}
}

func (q *Queue) forgetDedupLocked(m *Message) {
	if !q.cfg.Fifo {
		return
	}
	key := m.DedupID
	if q.cfg.DeduplicationScope == "messageGroup" {
		key = m.GroupID + "\x00" + m.DedupID
	}
	if d, ok := q.dedup[key]; ok && d.id == m.ID {
		delete(q.dedup, key)
	}
}

// insertLocked adds a stored message to the in-memory structures; groupID
// is its FIFO group. A visible message without an extra is listed in the
// fresh list when it fits there in order; any other gets an extra and the
// heaps.
func (q *Queue) insertLocked(m *entry, groupID string, now int64) {
	q.numLive++
	if m.receipt() != 0 {
		q.bySeq[m.seq] = m
	}
	if q.cfg.Fifo {
		g := q.groups[groupID]
		if g == nil {
			g = &group{id: strings.Clone(groupID)}
			q.groups[g.id] = g // the copy: groupID may be the store's buffer
			q.groupOrder = append(q.groupOrder, g)
		}
		m.grp = g
		g.msgs.insertSorted(m)
	}
	if m.visibleAt > now {
		x := m.ext()
		x.expPos = 0 // a revived copy may carry its original's
		q.expiry.push(m)
		if m.receipt() != 0 {
			m.set(fInflight, true)
			q.numInflight++
			if m.grp != nil {
				m.grp.inflight++
			}
		} else {
			m.set(fDelayed, true)
			q.numDelayed++
		}
		q.timing.push(m)
		if m.delayed() {
			q.age.push(m)
		}
		return
	}
	if m.plain() && q.fresh.insert(m) {
		if q.fresh.len() > 2*q.numLive+freshSlack {
			q.fresh.compact() // at most every numLive+freshSlack inserts
		}
		return
	}
	x := m.ext()
	x.expPos = 0
	q.expiry.push(m)
	q.age.push(m)
	if !q.cfg.Fifo {
		q.ready.insertSorted(m)
	}
}

// insertLoadedLocked lists the entries of a standard queue loaded at a
// restart, in sequence order, with every structure sized once for all of
// them: a restart of millions of messages grows no map or list step by
// step.
func (q *Queue) insertLoadedLocked(ents []*entry, now int64) {
	received := len(q.bySeq)
	for _, m := range ents {
		if m.receipt() != 0 {
			received++
		}
	}
	bySeq := make(map[uint64]*entry, received)
	for k, v := range q.bySeq {
		bySeq[k] = v
	}
	q.bySeq = bySeq
	q.fresh.grow(q.fresh.len() + len(ents))
	for _, m := range ents {
		q.insertLocked(m, "", now)
	}
}

// forEachLocked calls f with every message in the queue, in no order. A
// plain message is in the fresh list; any other is in the expiry heap
// unless a sweep found it expired while in flight; then it is in the timing
// heap.
func (q *Queue) forEachLocked(f func(*entry)) {
	q.fresh.each(f)
	for _, m := range q.expiry {
		f(m)
	}
	for _, m := range q.timing {
		if m.x.expPos == 0 {
			f(m)
		}
	}
}

// takeVisibleLocked removes from the lists and returns the next visible
// message of a standard queue, or nil: of the fresh list's front and the
// ready list's, the one sent first.
func (q *Queue) takeVisibleLocked() *entry {
	f, r := q.fresh.front(), q.ready.front()
	if f != nil && (r == nil || f.seq < r.seq) {
		q.fresh.popFront()
		return f
	}
	if r != nil {
		q.ready.popFront()
	}
	return r
}

// oldestLocked returns the message sent first among those not in flight,
// or nil.
func (q *Queue) oldestLocked() *entry {
	f, a := q.fresh.front(), q.age.oldest()
	if f == nil || (a != nil && (a.sentAt < f.sentAt || a.sentAt == f.sentAt && a.seq < f.seq)) {
		return a
	}
	return f
}

// promoteLocked makes every message whose VisibleAt has passed visible.
func (q *Queue) promoteLocked(now time.Time) {
	n := nanos(now)
	for len(q.timing) > 0 && q.timing[0].visibleAt <= n {
		m := q.timing.remove(0)
		q.becameVisibleLocked(m)
	}
}

func (q *Queue) becameVisibleLocked(m *entry) {
	q.age.push(m)
	q.expiry.push(m) // back, if a sweep took it out while it was in flight
	if m.inflight() {
		m.set(fInflight, false)
		q.numInflight--
		if m.grp != nil {
			m.grp.inflight--
		}
	} else if m.delayed() {
		m.set(fDelayed, false)
		q.numDelayed--
	}
	if !q.cfg.Fifo {
		q.ready.pushBack(m)
	}
}

// removeLocked deletes m from memory (and its body from the cache) and
// returns the store op that deletes it.
func (q *Queue) removeLocked(m *entry) Op {
	if m.heapIndex >= 0 {
		q.timing.remove(int(m.heapIndex))
	}
	// A plain message is in neither heap; the fresh list drops it lazily.
	q.age.remove(m)
	q.expiry.remove(m)
	if m.inflight() {
		q.numInflight--
		if m.grp != nil {
			m.grp.inflight--
		}
	}
	if m.delayed() {
		q.numDelayed--
	}
	m.markDeleted()
	q.numLive--
	delete(q.bySeq, m.seq)
	q.e.cache.drop(q.id, m.seq)
	// Lists (fresh, ready, group deques) drop deleted messages lazily.
	return Op{Kind: OpDeleteMessage, QueueID: q.id, Seq: m.seq}
}

// NewUUID returns a random (version 4) UUID in its text form, as SQS's
// message ids and AWS's request ids are.
func NewUUID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Counts are the three ApproximateNumberOfMessages* figures.
type Counts struct {
	Visible  int
	Inflight int
	Delayed  int
}

// Counts returns the queue's message counts now.
func (q *Queue) Counts() Counts {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.promoteLocked(q.e.clk.Now())
	return q.countsLocked()
}

func (q *Queue) countsLocked() Counts {
	return Counts{
		Visible:  q.numLive - q.numInflight - q.numDelayed,
		Inflight: q.numInflight,
		Delayed:  q.numDelayed,
	}
}

// Stats are running totals kept for the autoscaler and metrics.
type Stats struct {
	Sent     uint64
	Received uint64
	Deleted  uint64
	Moved    uint64 // to a dead-letter queue
	Expired  uint64 // dropped by retention
}

// Stats returns the queue's running totals.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}

// OldestAge returns the age of the oldest message that is not in flight,
// or 0 when there is none. It takes constant time.
func (q *Queue) OldestAge() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.e.clk.Now()
	q.promoteLocked(now)
	m := q.oldestLocked()
	if m == nil {
		return 0
	}
	return now.Sub(fromNanos(m.sentAt))
}

func formatMillis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
