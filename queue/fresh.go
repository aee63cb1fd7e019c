package queue

import "sort"

// freshList is a queue's plain messages (sent, visible, never received) in
// send order: ordered by Seq and, along the whole list, by SentAt (which is
// also their OriginalEnqueueAt). Its front is therefore both the oldest
// plain message (OldestAge) and the first to pass the retention period (the
// sweep), so a plain message needs neither the age heap nor the expiry heap:
// 8 bytes here instead of 16 there plus the heap positions.
//
// A message leaves the list at the front (a standard queue's receive, the
// sweep, a move) or lazily: one deleted, or given an extra (received out of
// a FIFO group), stays listed until it reaches the front and is skipped.
// A message that would break the order (its SentAt is before a later-sent
// one's, as when the clock steps back) is not listed: it gets an extra and
// the heaps.
type freshList struct{ d deque }

// freshReach bounds how far from the back insert places a message: sends
// whose commits finish out of order land some batches back, and placing
// one moves every message after it.
const freshReach = 1 << 16

// freshSlack is how many more messages than twice the queue's live ones
// the fresh list may hold (dead ones met at the front are dropped then)
// before insertLocked compacts it.
const freshSlack = 4096

func (f *freshList) len() int { return f.d.len() }

func (f *freshList) grow(n int) { f.d.grow(n) }

// insert lists m, a plain message, in its place and reports whether it
// could: false when its place is more than freshReach from the back or its
// SentAt is out of order with its neighbours'.
func (f *freshList) insert(m *entry) bool {
	buf := f.d.buf
	if n := len(buf); n == f.d.head || buf[n-1].seq < m.seq {
		if n > f.d.head && buf[n-1].sentAt > m.sentAt {
			return false
		}
		f.d.pushBack(m)
		return true
	}
	lo := max(f.d.head, len(buf)-freshReach)
	i := lo + sort.Search(len(buf)-lo, func(k int) bool { return buf[lo+k].seq > m.seq })
	if i == lo && lo > f.d.head && i < len(buf) {
		return false // further back than freshReach
	}
	if i > f.d.head && buf[i-1].sentAt > m.sentAt || i < len(buf) && buf[i].sentAt < m.sentAt {
		return false
	}
	f.d.buf = append(f.d.buf, nil)
	copy(f.d.buf[i+1:], f.d.buf[i:])
	f.d.buf[i] = m
	return true
}

// front returns the oldest plain message, or nil, dropping the deleted and
// no longer plain ones it passes.
func (f *freshList) front() *entry {
	for f.d.head < len(f.d.buf) {
		if m := f.d.buf[f.d.head]; !m.deleted() && m.plain() {
			return m
		}
		f.d.popFront()
	}
	return nil
}

// popFront removes the message front returned.
func (f *freshList) popFront() { f.d.popFront() }

// each calls fn with every listed plain message that is not deleted.
func (f *freshList) each(fn func(*entry)) {
	for _, m := range f.d.buf[f.d.head:] {
		if !m.deleted() && m.plain() {
			fn(m)
		}
	}
}

// compact drops the deleted and no longer plain messages wherever they
// are. A FIFO group that stays locked keeps its next message at the front,
// and every message received behind it would otherwise stay listed.
func (f *freshList) compact() {
	live := f.d.buf[:0]
	for _, m := range f.d.buf[f.d.head:] {
		if !m.deleted() && m.plain() {
			live = append(live, m)
		}
	}
	clear(f.d.buf[len(live):])
	f.d.buf, f.d.head = live, 0
}

// reset empties the list.
func (f *freshList) reset() {
	clear(f.d.buf)
	f.d.buf, f.d.head = f.d.buf[:0], 0
}
