package queue

// timingHeap orders the messages that are not visible yet (delayed or in
// flight) by the time they become visible. It is an index-tracking min-heap
// so a message can leave it early (delete, visibility change).
type timingHeap []*entry

func (h timingHeap) less(i, j int) bool {
	a, b := h[i].visibleAt, h[j].visibleAt
	if a == b {
		return h[i].seq < h[j].seq
	}
	return a < b
}

func (h timingHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = int32(i)
	h[j].heapIndex = int32(j)
}

func (h *timingHeap) push(m *entry) {
	m.heapIndex = int32(len(*h))
	*h = append(*h, m)
	h.up(int(m.heapIndex))
}

func (h *timingHeap) remove(i int) *entry {
	old := *h
	n := len(old) - 1
	if i != n {
		old.swap(i, n)
		if !h.down(i, n) {
			h.up(i)
		}
	}
	m := old[n]
	old[n] = nil
	*h = old[:n]
	m.heapIndex = -1
	return m
}

// fix restores order after m's VisibleAt changed.
func (h *timingHeap) fix(i int) {
	if !h.down(i, len(*h)) {
		h.up(i)
	}
}

func (h timingHeap) up(j int) {
	for {
		i := (j - 1) / 2
		if i == j || !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h timingHeap) down(i0, n int) bool {
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

// deque is a FIFO of messages with O(1) push at the back and pop at the
// front. Deleted messages stay until they reach the front and are skipped.
type deque struct {
	buf  []*entry
	head int
}

func (d *deque) len() int { return len(d.buf) - d.head }

// grow makes room for n messages in all.
func (d *deque) grow(n int) {
	if cap(d.buf)-d.head < n {
		buf := make([]*entry, len(d.buf)-d.head, n)
		copy(buf, d.buf[d.head:])
		d.buf, d.head = buf, 0
	}
}

func (d *deque) pushBack(m *entry) { d.buf = append(d.buf, m) }

// insertSorted keeps the deque ordered by Seq when sends finish out of order.
func (d *deque) insertSorted(m *entry) {
	i := len(d.buf)
	for i > d.head && d.buf[i-1].seq > m.seq {
		i--
	}
	d.buf = append(d.buf, nil)
	copy(d.buf[i+1:], d.buf[i:])
	d.buf[i] = m
}

func (d *deque) front() *entry {
	for d.head < len(d.buf) {
		if m := d.buf[d.head]; !m.deleted() {
			return m
		}
		d.popFront()
	}
	return nil
}

func (d *deque) popFront() *entry {
	m := d.buf[d.head]
	d.buf[d.head] = nil
	d.head++
	if d.head == len(d.buf) {
		d.buf = d.buf[:0]
		d.head = 0
	} else if d.head >= 1024 && d.head*2 >= len(d.buf) {
		n := copy(d.buf, d.buf[d.head:])
		clear(d.buf[n:])
		d.buf = d.buf[:n]
		d.head = 0
	}
	return m
}

// at returns the i-th live-or-deleted element from the front.
func (d *deque) at(i int) *entry { return d.buf[d.head+i] }
