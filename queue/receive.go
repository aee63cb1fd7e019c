package queue

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// ReceiveInput is a ReceiveMessage request.
type ReceiveInput struct {
	Max        int            // 1..10
	Visibility *time.Duration // nil: the queue's VisibilityTimeout
	Wait       *time.Duration // nil: the queue's ReceiveMessageWaitTimeSeconds
}

// Delivery is one received message: the immutable message (read back from
// the store or the body cache) and a copy of its state at the time of the
// receive.
type Delivery struct {
	*Message
	State         MessageState
	ReceiptHandle string

	ent *entry // the index entry received, for Return
}

// Receive returns up to in.Max messages, waiting up to the wait time for the
// first to arrive. It returns early, with what it has, when ctx ends.
func (q *Queue) Receive(ctx context.Context, in ReceiveInput) ([]Delivery, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	r := &receiver{q: q, ctx: ctx, in: in}
	if ds, err, done := r.attempt(); done {
		return ds, err
	}
	res := <-r.ch // made when it parked
	return res.ds, res.err
}

// ReceiveFunc receives as Receive does, but waits without holding a
// goroutine: done is called once, on a goroutine of its own, with what
// Receive would have returned. A server parks ten thousand idle long polls
// this way at the cost of their waiters and timers alone.
func (q *Queue) ReceiveFunc(ctx context.Context, in ReceiveInput, done func([]Delivery, error)) {
	if err := in.check(); err != nil {
		go done(nil, err)
		return
	}
	r := &receiver{q: q, ctx: ctx, in: in, done: done}
	if ds, err, finished := r.attempt(); finished {
		go done(ds, err)
	}
}

func (in *ReceiveInput) check() error {
	if in.Max == 0 {
		in.Max = 1
	}
	if err := MaxNumberOfMessagesRange.Check(int64(in.Max)); err != nil {
		return err
	}
	if in.Visibility != nil {
		if err := ReceiveVisibilityRange.checkDuration(*in.Visibility); err != nil {
			return err
		}
	}
	if in.Wait != nil {
		if err := WaitTimeSecondsRange.checkDuration(*in.Wait); err != nil {
			return err
		}
	}
	return nil
}

// receiveLocked takes up to in.Max visible messages. It also returns the
// store ops recording the receives and the messages that exceeded the
// redrive policy's maxReceiveCount and must move to the dead-letter queue.
func (q *Queue) receiveLocked(in ReceiveInput, now time.Time) ([]Delivery, []Op, []*entry, error) {
	q.promoteLocked(now)
	vis := q.cfg.Visibility
	if in.Visibility != nil {
		vis = *in.Visibility
	}
	if !q.cfg.Fifo && q.numInflight >= MaxInflightStandard {
		return nil, nil, nil, errorf(ErrOverLimit, "Too many messages in flight for this queue (the limit is %d).", MaxInflightStandard)
	}
	var out []Delivery
	var ops []Op
	var moves []*entry
	nowN := nanos(now)
	take := func(m *entry) {
		if q.expiredLocked(m, now) {
			ops = append(ops, q.removeLocked(m))
			q.stats.Expired++
			return
		}
		if rp := q.cfg.Redrive; rp != nil && m.receives() >= rp.MaxReceiveCount {
			if _, ok := q.e.queueByARN(rp.DeadLetterTargetArn); ok {
				q.removeLocked(m) // the move writes the store ops
				moves = append(moves, m)
				return
			}
		}
		m.setReceives(m.receives() + 1)
		wasPlain := m.plain()
		x := m.ext()
		if wasPlain {
			// Off the fresh list (a FIFO group's message lazily): the
			// expiry heap keeps it from now on.
			q.expiry.push(m)
		}
		if x.first == 0 {
			x.first = nowN
		}
		x.latest = nowN
		m.visibleAt = nanos(now.Add(vis))
		x.receipt = rand.Uint64() | 1
		q.bySeq[m.seq] = m // a receipt handle names it from now on
		q.age.remove(m)
		m.set(fInflight, true)
		q.numInflight++
		if m.grp != nil {
			m.grp.inflight++
		}
		q.timing.push(m)
		q.stats.Received++
		st := m.state()
		ops = append(ops, Op{Kind: OpUpdateMessage, QueueID: q.id, Seq: m.seq, State: st})
		out = append(out, Delivery{State: st, ReceiptHandle: q.receiptHandle(m), ent: m})
	}
	if !q.cfg.Fifo {
		for len(out) < in.Max {
			m := q.takeVisibleLocked()
			if m == nil {
				break
			}
			take(m)
		}
		return out, ops, moves, nil
	}
	// FIFO: whole runs from unlocked groups, oldest group first.
	live := q.groupOrder[:0]
	for _, g := range q.groupOrder {
		if g.msgs.front() == nil { // every message deleted
			delete(q.groups, g.id)
			continue
		}
		live = append(live, g)
		if len(out) >= in.Max || g.inflight > 0 {
			continue
		}
		for i := 0; i < g.msgs.len() && len(out) < in.Max; i++ {
			m := g.msgs.at(i)
			if m.deleted() {
				continue
			}
			if m.inflight() || m.delayed() || m.visibleAt > nowN {
				break
			}
			before := len(out)
			take(m)
			if len(out) == before && !m.deleted() {
				break
			}
		}
	}
	clear(q.groupOrder[len(live):])
	q.groupOrder = live
	return out, ops, moves, nil
}

func (q *Queue) expiredLocked(m *entry, now time.Time) bool {
	return m.enqueuedAt()+int64(q.cfg.Retention) <= nanos(now)
}

// readDeliveries fills in the messages of ds, just received, from the body
// cache and the store. A message the store no longer holds (a purge or a
// queue deletion came between) is left out. When the store cannot be read,
// the receive is undone (Return) and its error returned: the messages stay
// in the queue.
func (q *Queue) readDeliveries(ctx context.Context, ds []Delivery) ([]Delivery, error) {
	seqs := make([]uint64, len(ds))
	for i := range ds {
		seqs[i] = ds[i].ent.seq
	}
	msgs, err := q.loadMessages(ctx, seqs)
	if err != nil {
		q.Return(context.WithoutCancel(ctx), ds)
		if ctx.Err() == nil {
			q.e.log.Error("reading received messages from the store failed; they stay queued", "queue", q.name, "err", err)
		}
		return nil, storeError("read messages", err)
	}
	out := ds[:0]
	for i := range ds {
		if msgs[i] == nil {
			continue
		}
		ds[i].Message = msgs[i]
		out = append(out, ds[i])
	}
	return out, nil
}

// loadMessages returns the whole messages (body and attributes) seqs of
// the queue, from the body cache or else the store, with nil for a message
// the store does not hold. It is the one way to a queued message's body:
// call it without holding q.mu, with sequence numbers read under it.
func (q *Queue) loadMessages(ctx context.Context, seqs []uint64) ([]*Message, error) {
	out := make([]*Message, len(seqs))
	var missing []uint64
	var at []int
	for i, seq := range seqs {
		if m := q.e.cache.get(q.id, seq); m != nil {
			out[i] = m
			continue
		}
		missing = append(missing, seq)
		at = append(at, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := q.e.store.ReadMessages(ctx, q.id, missing)
	if err != nil {
		return nil, err
	}
	for j, m := range got {
		out[at[j]] = m
	}
	return out, nil
}

// receipt handles: "qs1" + base64(queue id, seq, nonce).
const receiptPrefix = "qs1"

func (q *Queue) receiptHandle(m *entry) string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[0:], q.id)
	binary.BigEndian.PutUint64(b[8:], m.seq)
	binary.BigEndian.PutUint64(b[16:], m.receipt())
	return receiptPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func parseReceipt(h string) (qid, seq, nonce uint64, ok bool) {
	if len(h) != len(receiptPrefix)+32 || h[:len(receiptPrefix)] != receiptPrefix {
		return 0, 0, 0, false
	}
	var b [24]byte
	n, err := base64.RawURLEncoding.Decode(b[:], []byte(h[len(receiptPrefix):]))
	if err != nil || n != 24 {
		return 0, 0, 0, false
	}
	return binary.BigEndian.Uint64(b[0:]), binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[16:]), true
}

func invalidReceipt(h string) *Error {
	return errorf(ErrReceiptHandleIsInvalid, "The input receipt handle \"%s\" is not a valid receipt handle.", h)
}

// Delete deletes the message a receipt handle names. Deleting a message that
// is already gone succeeds, as in SQS.
func (q *Queue) Delete(ctx context.Context, receipt string) error {
	errs := q.DeleteBatch(ctx, []string{receipt})
	if errs[0] != nil {
		return errs[0]
	}
	return nil
}

// DeleteBatch deletes several messages; errs[i] is nil for a success.
func (q *Queue) DeleteBatch(ctx context.Context, receipts []string) []*Error {
	errs := make([]*Error, len(receipts))
	ops := make([]Op, 0, len(receipts))
	now := q.e.clk.Now()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		for i := range errs {
			errs[i] = queueDoesNotExist()
		}
		return errs
	}
	for i, h := range receipts {
		qid, seq, nonce, ok := parseReceipt(h)
		if !ok || qid != q.id {
			errs[i] = invalidReceipt(h)
			continue
		}
		m := q.bySeq[seq]
		if m == nil {
			continue // already deleted
		}
		if m.receipt() != nonce || (q.cfg.Fifo && m.visibleAt <= nanos(now)) {
			if q.cfg.Fifo {
				errs[i] = invalidParam("ReceiptHandle", h, "The receipt handle has expired")
			}
			// Standard queues: the request succeeds but an outdated
			// receipt handle does not delete a message received again.
			continue
		}
		ops = append(ops, q.removeLocked(m))
		q.stats.Deleted++
	}
	if len(ops) > 0 && q.cfg.Fifo {
		q.wakeLocked(len(ops)) // deletes unlock groups
	}
	q.mu.Unlock()
	if len(ops) > 0 {
		if err := q.e.store.Commit(ctx, ops, false); err != nil {
			q.e.logStoreError(err)
		}
	}
	return errs
}

// VisibilityChange is one ChangeMessageVisibility request.
type VisibilityChange struct {
	ReceiptHandle string
	Timeout       time.Duration
}

// ChangeVisibility changes one in-flight message's visibility timeout.
func (q *Queue) ChangeVisibility(ctx context.Context, c VisibilityChange) error {
	errs := q.ChangeVisibilityBatch(ctx, []VisibilityChange{c})
	if errs[0] != nil {
		return errs[0]
	}
	return nil
}

// ChangeVisibilityBatch changes several; errs[i] is nil for a success.
func (q *Queue) ChangeVisibilityBatch(ctx context.Context, cs []VisibilityChange) []*Error {
	errs := make([]*Error, len(cs))
	ops := make([]Op, 0, len(cs))
	now := q.e.clk.Now()
	woke := 0
	sooner := false // a message now becomes visible earlier than before
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		for i := range errs {
			errs[i] = queueDoesNotExist()
		}
		return errs
	}
	q.promoteLocked(now)
	for i, c := range cs {
		if err := ChangeVisibilityRange.checkDuration(c.Timeout); err != nil {
			errs[i] = err
			continue
		}
		qid, seq, nonce, ok := parseReceipt(c.ReceiptHandle)
		if !ok || qid != q.id {
			errs[i] = invalidReceipt(c.ReceiptHandle)
			continue
		}
		m := q.bySeq[seq]
		if m == nil || m.receipt() != nonce {
			errs[i] = invalidParam("ReceiptHandle", c.ReceiptHandle, "Message does not exist or is not available for visibility timeout change")
			continue
		}
		if !m.inflight() {
			// Its visibility timeout has passed and no one received it
			// since. SQS answers success and leaves a standard queue's
			// message visible; a FIFO queue's receipt handle expired with it.
			if q.cfg.Fifo {
				errs[i] = invalidParam("ReceiptHandle", c.ReceiptHandle, "The receipt handle has expired")
			}
			continue
		}
		if now.Add(c.Timeout).Sub(fromNanos(m.x.latest)) > MaxVisibilityTimeout {
			errs[i] = invalidParam("VisibilityTimeout", int64(c.Timeout/time.Second), "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
			continue
		}
		if nanos(now.Add(c.Timeout)) < m.visibleAt {
			sooner = true
		}
		m.visibleAt = nanos(now.Add(c.Timeout))
		if c.Timeout == 0 {
			q.timing.remove(int(m.heapIndex))
			q.becameVisibleLocked(m)
			woke++
		} else {
			q.timing.fix(int(m.heapIndex))
		}
		ops = append(ops, Op{Kind: OpUpdateMessage, QueueID: q.id, Seq: m.seq, State: m.state()})
	}
	if sooner {
		// Waiting long polls set their timers for the old next-visible
		// time: wake them all to re-read it.
		q.wakeAllLocked()
	} else if woke > 0 {
		q.wakeLocked(woke)
	}
	q.mu.Unlock()
	if len(ops) > 0 {
		if err := q.e.store.Commit(ctx, ops, false); err != nil {
			q.e.logStoreError(err)
		}
	}
	return errs
}

// Return undoes a receive whose answer never reached its client (the client
// cancelled the request as the messages were taken): each message that is
// still in flight under the receipt of that delivery becomes visible at
// once, with its receive count, first-receive time and the queue's received
// total as they were before. A message received again since, or deleted,
// is left alone.
func (q *Queue) Return(ctx context.Context, ds []Delivery) {
	now := q.e.clk.Now()
	ops := make([]Op, 0, len(ds))
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return
	}
	for _, d := range ds {
		m := d.ent
		if m == nil || q.bySeq[m.seq] != m || !m.inflight() || m.receipt() != d.State.Receipt {
			continue
		}
		m.setReceives(m.receives() - 1)
		if m.receives() == 0 {
			m.x.first = 0
		}
		m.visibleAt = nanos(now)
		q.stats.Received--
		q.timing.remove(int(m.heapIndex))
		q.becameVisibleLocked(m)
		ops = append(ops, Op{Kind: OpUpdateMessage, QueueID: q.id, Seq: m.seq, State: m.state()})
	}
	if len(ops) > 0 {
		q.wakeLocked(len(ops))
	}
	q.mu.Unlock()
	if len(ops) > 0 {
		if err := q.e.store.Commit(ctx, ops, false); err != nil {
			q.e.logStoreError(err)
		}
	}
}
