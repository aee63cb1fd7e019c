package enginebackend

import (
	"context"

	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/queue"
)

var (
	_ dashboard.MessageBrowser = (*Backend)(nil)
	_ dashboard.QueueManager   = (*Backend)(nil)
)

// Peek implements dashboard.MessageBrowser: a page of the queue's messages,
// read without receiving them.
func (b *Backend) Peek(ctx context.Context, name string, o queue.PeekOptions) (queue.PeekPage, error) {
	q, err := b.c.Engine.Queue(name)
	if err != nil {
		return queue.PeekPage{}, err
	}
	return q.Peek(ctx, o)
}

// PeekMessage implements dashboard.MessageBrowser.
func (b *Backend) PeekMessage(ctx context.Context, name, id string) (queue.PeekedMessage, error) {
	q, err := b.c.Engine.Queue(name)
	if err != nil {
		return queue.PeekedMessage{}, err
	}
	return q.PeekMessage(ctx, id)
}

// CreateQueue implements dashboard.QueueManager. Creating a queue that
// exists with other attributes fails, as in SQS; with the same ones it
// succeeds.
func (b *Backend) CreateQueue(ctx context.Context, name string, attrs map[string]string) error {
	_, err := b.c.Engine.CreateQueue(ctx, name, attrs, nil)
	return err
}

// SetQueueAttributes implements dashboard.QueueManager.
func (b *Backend) SetQueueAttributes(ctx context.Context, name string, attrs map[string]string) error {
	q, err := b.c.Engine.Queue(name)
	if err != nil {
		return err
	}
	return q.SetAttributes(ctx, attrs)
}

// StartRedrive implements dashboard.QueueManager with the engine's
// message-move task, as fast as it goes.
func (b *Backend) StartRedrive(ctx context.Context, dlq, destination string) error {
	src, err := b.c.Engine.Queue(dlq)
	if err != nil {
		return err
	}
	destARN := ""
	if destination != "" {
		dst, err := b.c.Engine.Queue(destination)
		if err != nil {
			return err
		}
		destARN = dst.ARN()
	}
	_, err = b.c.Engine.StartMoveTask(ctx, src.ARN(), destARN, 0)
	return err
}

// Redrives implements dashboard.QueueManager: the queue's ten newest
// move tasks.
func (b *Backend) Redrives(ctx context.Context, dlq string) ([]dashboard.Redrive, error) {
	q, err := b.c.Engine.Queue(dlq)
	if err != nil {
		return nil, err
	}
	ts, err := b.c.Engine.ListMoveTasks(q.ARN(), 10)
	if err != nil {
		return nil, err
	}
	out := make([]dashboard.Redrive, 0, len(ts))
	for _, t := range ts {
		r := dashboard.Redrive{Status: t.Status, Moved: t.Moved, ToMove: t.ToMove, Failure: t.FailureReason, StartedAt: t.StartedAt}
		if t.DestinationARN != "" {
			if d, err := b.c.Engine.QueueByARN(t.DestinationARN); err == nil {
				r.Destination = d.Name()
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Failures implements dashboard.QueueManager from each queue's Stats.
func (b *Backend) Failures() map[string]dashboard.QueueFailures {
	out := map[string]dashboard.QueueFailures{}
	for _, q := range b.c.Engine.Queues() {
		st := q.Stats()
		out[q.Name()] = dashboard.QueueFailures{DeadLettered: st.Moved, Expired: st.Expired}
	}
	return out
}
