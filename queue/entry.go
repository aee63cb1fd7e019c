package queue

import "time"

// entry is what the engine keeps in memory of one queued message: its
// place in the queue, its timing and its receive state, and nothing large.
// The body, attributes, id and checksums live in the store (and, for a
// while, in the engine's body cache), read back when a receive or a move
// needs them. Times are Unix nanoseconds, 0 for the zero time.
//
// The owning queue's mu guards every field. An entry takes 80 bytes (a
// Go size class): keep it so.
type entry struct {
	seq        uint64 // per-queue sequence; keys the message in the store
	sentAt     int64  // when this copy entered the queue (OldestAge)
	enqueuedAt int64  // OriginalEnqueueAt (retention)
	st         entryState
	grp        *group // FIFO: the message's group

	heapIndex int32  // position in the timing heap, -1 when absent
	agePos    int32  // position in the age heap plus one, 0 when absent
	expPos    int32  // position in the expiry heap plus one, 0 when absent
	bits      uint32 // the receive count (countMask) and the flags
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
	st := m.st.unpack()
	st.ReceiveCount = m.receives()
	return st
}

// entryState is MessageState but the receive count, in 32 bytes instead
// of 88.
type entryState struct {
	visibleAt      int64
	firstReceiveAt int64
	receivedAt     int64
	receipt        uint64
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

func packState(st MessageState) entryState {
	return entryState{
		visibleAt:      nanos(st.VisibleAt),
		firstReceiveAt: nanos(st.FirstReceiveAt),
		receivedAt:     nanos(st.ReceivedAt),
		receipt:        st.Receipt,
	}
}

func (s entryState) unpack() MessageState {
	return MessageState{
		FirstReceiveAt: fromNanos(s.firstReceiveAt),
		ReceivedAt:     fromNanos(s.receivedAt),
		VisibleAt:      fromNanos(s.visibleAt),
		Receipt:        s.receipt,
	}
}

// newEntry indexes m, a message just sent or moved.
func newEntry(m *Message, st MessageState) *entry {
	e := &entry{}
	fillEntry(e, m, st)
	return e
}

func fillEntry(e *entry, m *Message, st MessageState) {
	*e = entry{
		seq:        m.Seq,
		sentAt:     nanos(m.SentAt),
		enqueuedAt: nanos(m.OriginalEnqueueAt),
		st:         packState(st),
		heapIndex:  -1,
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
