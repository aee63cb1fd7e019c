package queue

import (
	"context"
	"time"
)

// sweepBatch is how many expired messages a sweep drops per hold of a
// queue's lock: sends and receives on the queue wait for one batch at most.
const sweepBatch = 256

func (e *Engine) sweepLoop() {
	defer e.wg.Done()
	for {
		t := e.clk.NewTimer(e.sweepInt)
		select {
		case <-e.stopping:
			t.Stop()
			return
		case <-t.C():
		}
		e.Sweep(context.Background())
	}
}

// Sweep drops every message past its queue's retention period. It reads
// the expired messages off each queue's expiry index, sweepBatch at a time,
// releasing the queue's lock between batches, so its cost follows the
// number of expired messages, not the depth of the queue.
func (e *Engine) Sweep(ctx context.Context) {
	for _, q := range e.Queues() {
		for {
			ops, more := q.sweepBatchLocking(e.clk.Now())
			if len(ops) > 0 {
				if err := e.store.Commit(ctx, ops, false); err != nil {
					e.logStoreError(err)
				}
			}
			if !more || ctx.Err() != nil {
				break
			}
		}
	}
}

// sweepBatchLocking drops up to sweepBatch expired messages and reports
// whether more may be due.
func (q *Queue) sweepBatchLocking(now time.Time) ([]Op, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return nil, false
	}
	q.promoteLocked(now) // messages whose visibility timeout ended are not in flight
	ops := make([]Op, 0, sweepBatch)
	for n := 0; n < sweepBatch; n++ {
		if m := q.fresh.front(); m != nil && q.expiredLocked(m, now) {
			q.fresh.popFront()
			ops = append(ops, q.removeLocked(m))
			q.stats.Expired++
			continue
		}
		m := q.expiry.first()
		if m == nil || !q.expiredLocked(m, now) {
			return ops, false
		}
		if m.inflight() {
			// Its receiver may still delete it; becameVisibleLocked puts it
			// back here if it becomes visible instead.
			q.expiry.remove(m)
			continue
		}
		ops = append(ops, q.removeLocked(m))
		q.stats.Expired++
	}
	return ops, true
}
