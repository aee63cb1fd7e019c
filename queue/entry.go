package queue

import "time"

// entry is what the engine keeps in memory of one queued message: its
// place in the queue, its timing and its receive state, and nothing large.
// The body, attributes, id and checksums live in the store (and, for a
// while, in the engine's body cache), read back when a receive or a move
// needs them. Times are Unix nanoseconds, 0 for the zero time.
//
// The owning queue's mu guards every field.
type entry struct {
	seq        uint64 // per-queue sequence; keys the message in the store
	sentAt     int64  // when this copy entered the queue (OldestAge)
	enqueuedAt int64  // OriginalEnqueueAt (retention)
	st         entryState
	grp        *group // FIFO: the message's group

	heapIndex int32 // position in the timing heap, -1 when absent
	agePos    int32 // position in the age heap plus one, 0 when absent
	expPos    int32 // position in the expiry heap plus one, 0 when absent
	flags     uint8
}

// entry flags
const (
	fDeleted  uint8 = 1 << iota // removed; skipped when met in a list
	fInflight                   // received and not yet visible again
	fDelayed                    // never received and not yet visible (DelaySeconds)
)

func (m *entry) deleted() bool  { return m.flags&fDeleted != 0 }
func (m *entry) inflight() bool { return m.flags&fInflight != 0 }
func (m *entry) delayed() bool  { return m.flags&fDelayed != 0 }

func (m *entry) set(f uint8, on bool) {
	if on {
		m.flags |= f
	} else {
		m.flags &^= f
	}
}

// entryState is MessageState in 36 bytes instead of 88.
type entryState struct {
	visibleAt      int64
	firstReceiveAt int64
	receivedAt     int64
	receipt        uint64
	receiveCount   int32
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
		receiveCount:   int32(st.ReceiveCount),
	}
}

func (s entryState) unpack() MessageState {
	return MessageState{
		ReceiveCount:   int(s.receiveCount),
		FirstReceiveAt: fromNanos(s.firstReceiveAt),
		ReceivedAt:     fromNanos(s.receivedAt),
		VisibleAt:      fromNanos(s.visibleAt),
		Receipt:        s.receipt,
	}
}

// newEntry indexes m, a message just sent, moved or loaded.
func newEntry(m *Message, st MessageState) *entry {
	return &entry{
		seq:        m.Seq,
		sentAt:     nanos(m.SentAt),
		enqueuedAt: nanos(m.OriginalEnqueueAt),
		st:         packState(st),
		heapIndex:  -1,
	}
}
