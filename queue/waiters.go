package queue

// waiter is a parked receiver's place in its queue's line. A send wakes as
// many waiters as it added messages, oldest first, instead of all of them,
// so ten thousand idle long polls cost nothing and a send wakes one
// receiver.
type waiter struct {
	r          *receiver
	prev, next *waiter
	listed     bool
}

// waiterList is a FIFO of waiters, guarded by the queue's mu.
type waiterList struct {
	head, tail *waiter
	added      []chan struct{} // closed at the next add (WaiterAdded)
}

// WaiterAdded returns a channel closed when the next long poll starts
// waiting on this queue: a signal for tests and benchmarks that must act
// only once a receiver is parked.
func (q *Queue) WaiterAdded() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := make(chan struct{})
	q.waiters.added = append(q.waiters.added, c)
	return c
}

// Waiting returns how many long polls wait on this queue.
func (q *Queue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for w := q.waiters.head; w != nil; w = w.next {
		n++
	}
	return n
}

func (l *waiterList) add(w *waiter) {
	if w.listed {
		return
	}
	for _, c := range l.added {
		close(c)
	}
	l.added = nil
	w.listed = true
	w.prev, w.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
}

func (l *waiterList) remove(w *waiter) {
	if !w.listed {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next, w.listed = nil, nil, false
}

// wakeLocked wakes up to n waiters, oldest first.
func (q *Queue) wakeLocked(n int) {
	for ; n > 0 && q.waiters.head != nil; n-- {
		w := q.waiters.head
		q.waiters.remove(w)
		w.r.wokenLocked()
	}
}

// wakeAllLocked wakes every waiter (queue deleted, engine stopping).
func (q *Queue) wakeAllLocked() {
	for q.waiters.head != nil {
		q.wakeLocked(1)
	}
}
