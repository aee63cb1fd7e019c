package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MultiQueue is one Queue over several, for a worker that serves every
// queue of a fleet fed by more than one (`qscale worker --queue-url A
// --queue-url B`). Each Receive asks every queue in turn without waiting,
// starting one further each time, so that no queue starves; when all are
// empty it long-polls the next one for Wait divided by the number of
// queues, so a message on any queue waits at most about one Wait. The
// receipt handles it returns carry the queue's index ("1|handle"); deletes
// and visibility changes go back to the queue that gave the message.
type MultiQueue struct {
	queues []Queue

	mu   sync.Mutex // guards next
	next int
}

var _ Queue = (*MultiQueue)(nil)

// NewMultiQueue returns a MultiQueue over qs (at least one).
func NewMultiQueue(qs ...Queue) (*MultiQueue, error) {
	if len(qs) == 0 {
		return nil, errors.New("worker: MultiQueue needs a queue")
	}
	return &MultiQueue{queues: qs}, nil
}

func (m *MultiQueue) turn() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.next
	m.next = (m.next + 1) % len(m.queues)
	return i
}

// Receive implements Queue.
func (m *MultiQueue) Receive(ctx context.Context, req ReceiveRequest) ([]*Message, error) {
	first := m.turn()
	n := len(m.queues)
	if n > 1 {
		quick := req
		quick.Wait = 0
		for k := range n {
			i := (first + k) % n
			ms, err := m.queues[i].Receive(ctx, quick)
			if err != nil {
				return nil, err
			}
			if len(ms) > 0 {
				return tag(i, ms), nil
			}
		}
	}
	long := req
	long.Wait = req.Wait / time.Duration(n)
	ms, err := m.queues[first].Receive(ctx, long)
	if err != nil {
		return nil, err
	}
	return tag(first, ms), nil
}

func tag(i int, ms []*Message) []*Message {
	p := strconv.Itoa(i) + "|"
	for _, msg := range ms {
		msg.ReceiptHandle = p + msg.ReceiptHandle
	}
	return ms
}

// untag splits a tagged receipt handle.
func (m *MultiQueue) untag(h string) (int, string, error) {
	p, rest, ok := strings.Cut(h, "|")
	i, err := strconv.Atoi(p)
	if !ok || err != nil || i < 0 || i >= len(m.queues) {
		return 0, "", fmt.Errorf("worker: receipt handle %.20q was not given by this MultiQueue", h)
	}
	return i, rest, nil
}

// DeleteBatch implements Queue: each handle is deleted from its queue.
func (m *MultiQueue) DeleteBatch(ctx context.Context, handles []string) error {
	by := map[int][]string{}
	failed := map[string]error{}
	for _, h := range handles {
		i, raw, err := m.untag(h)
		if err != nil {
			failed[h] = err
			continue
		}
		by[i] = append(by[i], raw)
	}
	for i, hs := range by {
		if err := m.queues[i].DeleteBatch(ctx, hs); err != nil {
			if !m.merge(i, err, failed) {
				return err
			}
		}
	}
	if len(failed) > 0 {
		return &BatchError{Failed: failed}
	}
	return nil
}

// ChangeVisibilityBatch implements Queue.
func (m *MultiQueue) ChangeVisibilityBatch(ctx context.Context, changes []VisibilityChange) error {
	by := map[int][]VisibilityChange{}
	failed := map[string]error{}
	for _, c := range changes {
		i, raw, err := m.untag(c.ReceiptHandle)
		if err != nil {
			failed[c.ReceiptHandle] = err
			continue
		}
		by[i] = append(by[i], VisibilityChange{ReceiptHandle: raw, Timeout: c.Timeout})
	}
	for i, cs := range by {
		if err := m.queues[i].ChangeVisibilityBatch(ctx, cs); err != nil {
			if !m.merge(i, err, failed) {
				return err
			}
		}
	}
	if len(failed) > 0 {
		return &BatchError{Failed: failed}
	}
	return nil
}

// merge adds the entries of queue i's *BatchError to failed under their
// tagged handles; false for another error.
func (m *MultiQueue) merge(i int, err error, failed map[string]error) bool {
	var be *BatchError
	if !errors.As(err, &be) {
		return false
	}
	p := strconv.Itoa(i) + "|"
	for h, e := range be.Failed {
		failed[p+h] = e
	}
	return true
}
