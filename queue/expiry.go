package queue

// expiryHeap orders a queue's messages by the time they entered it
// (OriginalEnqueueAt), which is the order they pass the queue's retention
// period, so a sweep finds the expired ones at the top instead of scanning
// every message. A message's expPos is its index here plus one; 0 means it
// is not here. Every live message is here, except one found expired while
// in flight: the sweep takes it out, and becameVisibleLocked puts it back
// once it is visible, for the next sweep to drop. Sends arrive in nearly
// increasing order, so a push is O(1) in practice; a delete is O(log n).
// Entries carry their keys, so ordering reads the heap's own array rather
// than a message per comparison.
type expiryHeap []expiryEntry

type expiryEntry struct {
	at  int64 // OriginalEnqueueAt in Unix nanoseconds
	seq uint64
	m   *Message
}

func (h expiryHeap) less(i, j int) bool {
	if h[i].at == h[j].at {
		return h[i].seq < h[j].seq
	}
	return h[i].at < h[j].at
}

func (h expiryHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].m.expPos = i + 1
	h[j].m.expPos = j + 1
}

// push adds m unless it is already here.
func (h *expiryHeap) push(m *Message) {
	if m.expPos != 0 {
		return
	}
	*h = append(*h, expiryEntry{at: m.OriginalEnqueueAt.UnixNano(), seq: m.Seq, m: m})
	m.expPos = len(*h)
	h.up(len(*h) - 1)
}

// remove takes m out if it is here.
func (h *expiryHeap) remove(m *Message) {
	if m.expPos == 0 {
		return
	}
	old := *h
	i, n := m.expPos-1, len(old)-1
	if i != n {
		old.swap(i, n)
		if !old.down(i, n) {
			old.up(i)
		}
	}
	old[n] = expiryEntry{}
	*h = old[:n]
	m.expPos = 0
}

// first returns the message that entered the queue first, or nil.
func (h expiryHeap) first() *Message {
	if len(h) == 0 {
		return nil
	}
	return h[0].m
}

func (h expiryHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h expiryHeap) down(i0, n int) bool {
	i := i0
	for {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1
		if j2 := j1 + 1; j2 < n && h.less(j2, j1) {
			j = j2
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
