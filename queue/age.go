package queue

// ageHeap orders the messages that are not in flight (visible or delayed)
// and not plain (plain ones are in the fresh list, in send order) by the
// time they were sent, so OldestAge reads the oldest in O(1). A
// message's agePos is its index here plus one; 0 means it is not here, so a
// fresh entry needs no initialisation. Sends arrive in nearly increasing
// SentAt order, which makes a push O(1) in practice; a receive removes the
// message in O(log n).
type ageHeap []*entry

func (h ageHeap) less(i, j int) bool {
	a, b := h[i].sentAt, h[j].sentAt
	if a == b {
		return h[i].seq < h[j].seq
	}
	return a < b
}

func (h ageHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].x.agePos = int32(i + 1)
	h[j].x.agePos = int32(j + 1)
}

// push adds m unless it is already here.
func (h *ageHeap) push(m *entry) {
	if m.x.agePos != 0 {
		return
	}
	*h = append(*h, m)
	m.x.agePos = int32(len(*h))
	h.up(len(*h) - 1)
}

// remove takes m out if it is here (a plain entry never is).
func (h *ageHeap) remove(m *entry) {
	if m.x == nil || m.x.agePos == 0 {
		return
	}
	old := *h
	i, n := int(m.x.agePos)-1, len(old)-1
	if i != n {
		old.swap(i, n)
		if !old.down(i, n) {
			old.up(i)
		}
	}
	old[n] = nil
	*h = old[:n]
	m.x.agePos = 0
}

// oldest returns the message sent first, or nil.
func (h ageHeap) oldest() *entry {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}

func (h ageHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h ageHeap) down(i0, n int) bool {
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
