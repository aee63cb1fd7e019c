package queue

// expiryHeap orders a queue's messages by the time they entered it
// (OriginalEnqueueAt), which is the order they pass the queue's retention
// period, so a sweep finds the expired ones at the top instead of scanning
// every message. A message's expPos is its index here plus one; 0 means it
// is not here. Every live message that is not plain is here (plain ones are
// in the fresh list, in the same order), except one found expired while in
// flight: the sweep takes it out, and becameVisibleLocked puts it back once
// it is visible, for the next sweep to drop. Only entries with an extra are
// pushed. Sends arrive in nearly
// increasing order, so a push is O(1) in practice; a delete is O(log n).
// It holds pointers only (8 bytes a message): the keys are in the entries.
type expiryHeap []*entry

func (h expiryHeap) less(i, j int) bool {
	a, b := h[i].x.enqueuedAt, h[j].x.enqueuedAt
	if a == b {
		return h[i].seq < h[j].seq
	}
	return a < b
}

func (h expiryHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].x.expPos = int32(i + 1)
	h[j].x.expPos = int32(j + 1)
}

// push adds m unless it is already here.
func (h *expiryHeap) push(m *entry) {
	if m.x.expPos != 0 {
		return
	}
	*h = append(*h, m)
	m.x.expPos = int32(len(*h))
	h.up(len(*h) - 1)
}

// remove takes m out if it is here (a plain entry never is).
func (h *expiryHeap) remove(m *entry) {
	if m.x == nil || m.x.expPos == 0 {
		return
	}
	old := *h
	i, n := int(m.x.expPos)-1, len(old)-1
	if i != n {
		old.swap(i, n)
		if !old.down(i, n) {
			old.up(i)
		}
	}
	old[n] = nil
	*h = old[:n]
	m.x.expPos = 0
}

// first returns the message that entered the queue first, or nil.
func (h expiryHeap) first() *entry {
	if len(h) == 0 {
		return nil
	}
	return h[0]
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
