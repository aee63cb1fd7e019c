package queue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Move task states, as ListMessageMoveTasks reports them.
const (
	MoveRunning    = "RUNNING"
	MoveCompleted  = "COMPLETED"
	MoveCancelling = "CANCELLING"
	MoveCancelled  = "CANCELLED"
	MoveFailed     = "FAILED"
)

// MoveTask moves messages out of a dead-letter queue: back to the queues
// they came from, or to one destination.
type MoveTask struct {
	Handle         string
	SourceARN      string
	DestinationARN string // "" = each message's original source
	MaxPerSecond   int    // 0 = as fast as possible
	StartedAt      time.Time

	e      *Engine
	cancel chan struct{}
	// guarded by e.mu
	status   string
	moved    int64
	toMove   int64
	failure  string
	finished bool
}

// MoveTaskInfo is a snapshot of a MoveTask.
type MoveTaskInfo struct {
	Handle         string
	Status         string
	SourceARN      string
	DestinationARN string
	MaxPerSecond   int
	Moved          int64
	ToMove         int64
	FailureReason  string
	StartedAt      time.Time
}

// StartMoveTask starts moving messages out of the dead-letter queue sourceARN.
func (e *Engine) StartMoveTask(ctx context.Context, sourceARN, destARN string, maxPerSecond int) (string, error) {
	src, ok := e.queueByARN(sourceARN)
	if !ok {
		return "", errorf(ErrResourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	if len(e.DeadLetterSources(src)) == 0 {
		return "", invalidParam("SourceArn", sourceARN, "Source queue must be configured as a Dead Letter Queue.")
	}
	if destARN != "" {
		dst, ok := e.queueByARN(destARN)
		if !ok {
			return "", errorf(ErrResourceNotFound, "The resource that you specified for the DestinationArn parameter doesn't exist.")
		}
		if dst.IsFIFO() != src.IsFIFO() {
			return "", invalidParam("DestinationArn", destARN, "The source queue and destination queue must be of the same queue type")
		}
	}
	if maxPerSecond != 0 { // 0: as fast as possible
		if err := MoveRateRange.Check(int64(maxPerSecond)); err != nil {
			return "", err
		}
	}
	id := fmt.Sprintf("%016x", rand.Uint64())
	raw, _ := json.Marshal(map[string]string{"taskId": id, "sourceArn": sourceARN})
	t := &MoveTask{
		Handle:         base64.StdEncoding.EncodeToString(raw),
		SourceARN:      sourceARN,
		DestinationARN: destARN,
		MaxPerSecond:   maxPerSecond,
		StartedAt:      e.clk.Now(),
		e:              e,
		cancel:         make(chan struct{}),
		status:         MoveRunning,
		toMove:         int64(src.Counts().Visible),
	}
	e.mu.Lock()
	for _, o := range e.taskOrder {
		if o.SourceARN == sourceARN && !o.finished {
			e.mu.Unlock()
			return "", errorf(ErrUnsupportedOperation, "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
		}
	}
	e.tasks[t.Handle] = t
	e.taskOrder = append(e.taskOrder, t)
	e.wg.Add(1)
	e.mu.Unlock()
	go t.run(src)
	return t.Handle, nil
}

// CancelMoveTask cancels a running task and returns how many messages it moved.
func (e *Engine) CancelMoveTask(handle string) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tasks[handle]
	if !ok {
		return 0, errorf(ErrResourceNotFound, "Task does not exist.")
	}
	if t.status != MoveRunning {
		return 0, errorf(ErrUnsupportedOperation, "Only active tasks can be cancelled.")
	}
	t.status = MoveCancelling
	close(t.cancel)
	return t.moved, nil
}

// ListMoveTasks returns the most recent tasks of a source queue, newest first.
func (e *Engine) ListMoveTasks(sourceARN string, max int) ([]MoveTaskInfo, error) {
	if _, ok := e.queueByARN(sourceARN); !ok {
		return nil, errorf(ErrResourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	if max == 0 {
		max = 1
	}
	if err := MoveTasksResultsRange.Check(int64(max)); err != nil {
		return nil, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []MoveTaskInfo
	for i := len(e.taskOrder) - 1; i >= 0 && len(out) < max; i-- {
		t := e.taskOrder[i]
		if t.SourceARN != sourceARN {
			continue
		}
		info := MoveTaskInfo{Status: t.status, SourceARN: t.SourceARN, DestinationARN: t.DestinationARN,
			MaxPerSecond: t.MaxPerSecond, Moved: t.moved, ToMove: t.toMove, FailureReason: t.failure, StartedAt: t.StartedAt}
		if t.status == MoveRunning {
			info.Handle = t.Handle
		}
		out = append(out, info)
	}
	return out, nil
}

func (t *MoveTask) finish(status, failure string) {
	t.e.mu.Lock()
	defer t.e.mu.Unlock()
	if t.status == MoveCancelling {
		status = MoveCancelled
	}
	t.status, t.failure, t.finished = status, failure, true
}

func (t *MoveTask) run(src *Queue) {
	defer t.e.wg.Done()
	ctx := context.Background()
	batch := 10
	interval := time.Duration(0)
	if t.MaxPerSecond > 0 {
		if t.MaxPerSecond < batch {
			batch = t.MaxPerSecond
		}
		interval = time.Second * time.Duration(batch) / time.Duration(t.MaxPerSecond)
	}
	for {
		select {
		case <-t.cancel:
			t.finish(MoveCancelled, "")
			return
		case <-t.e.stopping:
			t.finish(MoveFailed, "The server stopped.")
			return
		default:
		}
		t.e.mu.RLock()
		left := t.toMove - t.moved
		t.e.mu.RUnlock()
		if left <= 0 {
			t.finish(MoveCompleted, "")
			return
		}
		n := batch
		if int64(n) > left {
			n = int(left)
		}
		msgs := src.takeVisible(n)
		if len(msgs) == 0 {
			t.finish(MoveCompleted, "")
			return
		}
		if reason, left := t.moveBatch(ctx, src, msgs); reason != "" {
			src.putBack(left)
			t.finish(MoveFailed, reason)
			return
		}
		t.e.mu.Lock()
		t.moved += int64(len(msgs))
		t.e.mu.Unlock()
		if interval > 0 {
			timer := t.e.clk.NewTimer(interval)
			select {
			case <-timer.C():
			case <-t.cancel:
				timer.Stop()
			case <-t.e.stopping:
				timer.Stop()
			}
		}
	}
}

// moveBatch moves ents to their destination. On a failure it returns the
// reason and the entries it did not move.
func (t *MoveTask) moveBatch(ctx context.Context, src *Queue, ents []*entry) (string, []*entry) {
	msgs, err := src.loadEntries(ctx, ents)
	if err != nil {
		return fmt.Sprintf("Could not read the messages: %v", err), ents
	}
	type batch struct {
		ents []*entry
		msgs []*Message
	}
	byDest := map[string]*batch{}
	var order []string
	for i, m := range msgs {
		if m == nil {
			continue // purged since it was taken
		}
		d := t.DestinationARN
		if d == "" {
			d = m.DeadLetterSource
		}
		if d == "" {
			return fmt.Sprintf("Message %s has no original source queue; give a DestinationArn.", m.ID), ents
		}
		b := byDest[d]
		if b == nil {
			b = &batch{}
			byDest[d] = b
			order = append(order, d)
		}
		b.ents = append(b.ents, ents[i])
		b.msgs = append(b.msgs, m)
	}
	for _, arn := range order {
		if _, ok := t.e.queueByARN(arn); !ok {
			return fmt.Sprintf("Destination queue %s does not exist.", arn), ents
		}
	}
	for i, arn := range order {
		dst, _ := t.e.queueByARN(arn)
		b := byDest[arn]
		if err := t.e.transfer(ctx, src, dst, b.ents, b.msgs, "", true); err != nil {
			var left []*entry
			for _, a := range order[i:] {
				left = append(left, byDest[a].ents...)
			}
			return err.Error(), left
		}
	}
	return "", nil
}

// takeVisible removes up to n visible messages from memory (not the store)
// for a move: from the front for standard queues, from unlocked groups in
// order for FIFO queues.
func (q *Queue) takeVisible(n int) []*entry {
	now := q.e.clk.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.promoteLocked(now)
	var out []*entry
	if !q.cfg.Fifo {
		for len(out) < n {
			m := q.takeVisibleLocked()
			if m == nil {
				break
			}
			q.removeLocked(m)
			out = append(out, m)
		}
		return out
	}
	for _, g := range q.groupOrder {
		if g.inflight > 0 {
			continue
		}
		for i := 0; i < g.msgs.len() && len(out) < n; i++ {
			m := g.msgs.at(i)
			if m.deleted() {
				continue
			}
			if m.delayed() || m.visibleAt > nanos(now) {
				break
			}
			q.removeLocked(m)
			out = append(out, m)
		}
	}
	return out
}

// putBack returns messages taken from memory (takeVisible, a receive
// that found them past maxReceiveCount) whose move failed.
func (q *Queue) putBack(ents []*entry) {
	if len(ents) == 0 {
		return
	}
	now := nanos(q.e.clk.Now())
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return
	}
	for _, m := range ents {
		if m.seq < q.purgedBelow {
			continue
		}
		c := revive(m)
		gid := ""
		if m.grp != nil {
			gid = m.grp.id
		}
		q.insertLocked(c, gid, now)
	}
	q.wakeLocked(len(ents))
}

// revive returns a live copy of an entry removed from memory. Lists may
// still hold the removed one, marked deleted, so it is never reused.
func revive(m *entry) *entry {
	c := *m
	c.bits &= countMask
	if m.x != nil { // its own copy: the removed entry may still be read
		x := *m.x
		x.agePos, x.expPos = 0, 0
		c.x = &x
	}
	c.heapIndex, c.grp = -1, nil
	return &c
}
