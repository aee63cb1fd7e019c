package queue

import "time"

// entry is what the engine keeps in memory of one queued message: its
// place in the queue, its timing and its receive state, and nothing large.
// The body, attributes, id and checksums live in the store (and, for a
// while, in the engine's body cache), read back when a receive or a move
// needs them. Times are Unix nanoseconds, 0 for the zero time.
//
// Most of a backlog is plain: sent, visible, never received, and listed in
// its queue's fresh list in send order (see fresh.go), which is enough to
// answer its age and its retention without any heap. A plain entry has no
// extra (x is nil); every other one (delayed, received, moved in from
// another queue, or sent out of order) has one, with its heap positions.
//
// The owning queue's mu guards every field. An entry takes 48 bytes: keep
// it so, it is paid once per queued message.
type entry struct {
	seq       uint64 // per-queue sequence; keys the message in the store
	sentAt    int64  // when this copy entered the queue (OldestAge)
	visibleAt int64  // when it is (or was) next visible
	x         *extra // nil while the entry is plain
	grp       *group // FIFO: the message's group
	heapIndex int32  // position in the timing heap, -1 when absent
	bits      uint32 // the receive count (countMask) and the flags
}

// extra is the part of an entry that a plain message does without.
type extra struct {
	enqueuedAt int64  // OriginalEnqueueAt (retention), when not sentAt
	first      int64  // FirstReceiveAt; 0 when a Return undid the only receive
	latest     int64  // ReceivedAt
	receipt    uint64 // nonce of the current receipt handle
	agePos     int32  // position in the age heap plus one, 0 when absent
	expPos     int32  // position in the expiry heap plus one, 0 when absent
}

// plain reports whether m is indexed by its queue's fresh list alone.
func (m *entry) plain() bool { return m.x == nil }

// ext returns m's extra, giving it one (and so taking it out of the plain
// ones) if it has none.
func (m *entry) ext() *extra {
	if m.x == nil {
		m.x = &extra{enqueuedAt: m.sentAt}
	}
	return m.x
}

// enqueuedAt is the message's OriginalEnqueueAt, which retention counts
// from: a plain message's is its SentAt.
func (m *entry) enqueuedAt() int64 {
	if m.x == nil {
		return m.sentAt
	}
	return m.x.enqueuedAt
}

// receipt is the nonce of the message's current receipt handle; 0 when it
// was never received.
func (m *entry) receipt() uint64 {
	if m.x == nil {
		return 0
	}
	return m.x.receipt
}

func (m *entry) firstReceive() int64 {
	if m.x == nil {
		return 0
	}
	return m.x.first
}

func (m *entry) latestReceive() int64 {
	if m.x == nil {
		return 0
	}
	return m.x.latest
}

// entry bits: the flags above the receive count
const (
	countMask uint32 = 1<<29 - 1
	fDeleted  uint32 = 1 << 29 // removed; skipped when met in a list
	fInflight uint32 = 1 << 30 // received and not yet visible again
	fDelayed  uint32 = 1 << 31 // never received and not yet visible (DelaySeconds)
)

func (m *entry) deleted() bool  { return m.bits&fDeleted != 0 }
func (m *entry) inflight() bool { return m.bits&fInflight != 0 }
func (m *entry) delayed() bool  { return m.bits&fDelayed != 0 }

func (m *entry) set(f uint32, on bool) {
	if on {
		m.bits |= f
	} else {
		m.bits &^= f
	}
}

// markDeleted clears the flags but fDeleted.
func (m *entry) markDeleted() { m.bits = m.bits&countMask | fDeleted }

// receives is the message's receive count.
func (m *entry) receives() int { return int(m.bits & countMask) }

func (m *entry) setReceives(n int) {
	m.bits = m.bits&^countMask | uint32(min(max(n, 0), int(countMask)))
}

// state returns the message's state as the store and deliveries see it.
func (m *entry) state() MessageState {
	st := MessageState{ReceiveCount: m.receives(), VisibleAt: fromNanos(m.visibleAt)}
	if r := m.x; r != nil {
		st.FirstReceiveAt, st.ReceivedAt, st.Receipt = fromNanos(r.first), fromNanos(r.latest), r.receipt
	}
	return st
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// newEntry indexes m, a message just sent or moved.
func newEntry(m *Message, st MessageState) *entry {
	e := &entry{}
	fillEntry(e, m, st)
	return e
}

func fillEntry(e *entry, m *Message, st MessageState) {
	*e = entry{
		seq:       m.Seq,
		sentAt:    nanos(m.SentAt),
		visibleAt: nanos(st.VisibleAt),
		heapIndex: -1,
	}
	enq := nanos(m.OriginalEnqueueAt)
	if enq != e.sentAt || st.Receipt != 0 || !st.FirstReceiveAt.IsZero() || !st.ReceivedAt.IsZero() {
		e.x = &extra{enqueuedAt: enq, first: nanos(st.FirstReceiveAt), latest: nanos(st.ReceivedAt), receipt: st.Receipt}
	}
	e.setReceives(st.ReceiveCount)
}

// entrySlab hands out entries from arrays of slabSize, for a restart that
// loads millions: one allocation per slabSize entries instead of one each.
// An array lives while any of its entries does; a backlog is consumed
// roughly in the order it was loaded, so arrays are freed as it drains.
type entrySlab struct{ free []entry }

const slabSize = 1024

func (s *entrySlab) next() *entry {
	if len(s.free) == 0 {
		s.free = make([]entry, slabSize)
	}
	e := &s.free[0]
	s.free = s.free[1:]
	return e
}
