package worker_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker"
)

// memQueue is a small in-memory queue on an injected clock for the
// runtime's unit tests; the process tests run against real SQS servers.
type memQueue struct {
	clk clock.Clock

	mu      sync.Mutex // guards the fields below
	msgs    []*memMsg
	seq     int
	wake    chan struct{} // closed when a message is sent
	ended   chan struct{} // closed by endPolls
	calls   int           // Receive calls
	waiting chan struct{} // gets a value when a Receive starts to wait
	deletes [][]string    // each DeleteBatch call
	changes []worker.VisibilityChange
	changed chan worker.VisibilityChange // every visibility change, if set
}

type memMsg struct {
	id, body  string
	handle    string
	receives  int
	visibleAt time.Time
	deleted   bool
}

func newMemQueue(clk clock.Clock) *memQueue {
	return &memQueue{clk: clk, wake: make(chan struct{}), ended: make(chan struct{}), waiting: make(chan struct{}, 1), changed: make(chan worker.VisibilityChange, 100)}
}

func (q *memQueue) send(bodies ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range bodies {
		q.seq++
		q.msgs = append(q.msgs, &memMsg{id: "m" + strconv.Itoa(q.seq), body: b, visibleAt: q.clk.Now()})
	}
	close(q.wake)
	q.wake = make(chan struct{})
}

func (q *memQueue) Receive(ctx context.Context, req worker.ReceiveRequest) ([]*worker.Message, error) {
	var wait clock.Timer
	q.mu.Lock()
	q.calls++
	q.mu.Unlock()
	for {
		q.mu.Lock()
		now := q.clk.Now()
		var out []*worker.Message
		for _, m := range q.msgs {
			if len(out) == req.Max {
				break
			}
			if m.deleted || m.visibleAt.After(now) {
				continue
			}
			m.receives++
			m.handle = fmt.Sprintf("%s-%d", m.id, m.receives)
			m.visibleAt = now.Add(req.Visibility)
			out = append(out, &worker.Message{ID: m.id, ReceiptHandle: m.handle, Body: m.body, ReceiveCount: m.receives,
				Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)}})
		}
		wake := q.wake
		q.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		if wait == nil {
			// A long poll ends after req.Wait on the queue's clock, as
			// SQS's does.
			wait = q.clk.NewTimer(req.Wait)
			defer wait.Stop()
			select {
			case q.waiting <- struct{}{}:
			default:
			}
		}
		select {
		case <-wake:
		case <-wait.C():
			return nil, nil
		case <-q.ended:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// endPolls ends every long poll waiting now or later, as if its wait had
// run out: a stopping worker lets its receive in progress finish, and tests
// on a fake clock end it with this instead of advancing the clock.
func (q *memQueue) endPolls() {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-q.ended:
	default:
		close(q.ended)
	}
}

func (q *memQueue) find(handle string) *memMsg {
	for _, m := range q.msgs {
		if m.handle == handle && !m.deleted {
			return m
		}
	}
	return nil
}

func (q *memQueue) DeleteBatch(ctx context.Context, handles []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deletes = append(q.deletes, append([]string(nil), handles...))
	be := &worker.BatchError{Failed: map[string]error{}}
	for _, h := range handles {
		if m := q.find(h); m != nil {
			m.deleted = true
		} else {
			be.Failed[h] = fmt.Errorf("ReceiptHandleIsInvalid")
		}
	}
	if len(be.Failed) > 0 {
		return be
	}
	return nil
}

func (q *memQueue) ChangeVisibilityBatch(ctx context.Context, changes []worker.VisibilityChange) error {
	q.mu.Lock()
	now := q.clk.Now()
	for _, c := range changes {
		if m := q.find(c.ReceiptHandle); m != nil {
			m.visibleAt = now.Add(c.Timeout)
		}
		q.changes = append(q.changes, c)
	}
	if len(changes) > 0 {
		close(q.wake) // a message may be visible again
		q.wake = make(chan struct{})
	}
	q.mu.Unlock()
	for _, c := range changes {
		select {
		case q.changed <- c:
		default:
		}
	}
	return nil
}

// remaining counts messages not deleted.
func (q *memQueue) remaining() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, m := range q.msgs {
		if !m.deleted {
			n++
		}
	}
	return n
}

func (q *memQueue) deleteCalls() [][]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([][]string(nil), q.deletes...)
}

// visible counts messages that a receive would return now.
func (q *memQueue) visible() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, m := range q.msgs {
		if !m.deleted && !m.visibleAt.After(q.clk.Now()) {
			n++
		}
	}
	return n
}

// receiveCalls returns how many times Receive was called.
func (q *memQueue) receiveCalls() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls
}
