package queue

import (
	"context"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// receiver is one ReceiveMessage call. It tries to receive; when the queue
// has nothing for it and time is left, it parks: its waiter joins the
// queue's line and a timer is set for the deadline (or the next message to
// become visible, if sooner). Nothing else runs while it is parked. A send
// that wakes it, its timer, its context's end, the queue's deletion or the
// engine's Quiesce resumes it on a goroutine of the waker's making, and it
// tries again. When it is done it calls back (ReceiveFunc) or hands its
// result to the goroutine blocked in Receive.
type receiver struct {
	q    *Queue
	ctx  context.Context
	in   ReceiveInput
	done func([]Delivery, error) // ReceiveFunc's; nil for Receive
	ch   chan receiveResult      // Receive's, made when it first parks

	// Guarded by q.mu.
	w         waiter
	deadline  time.Time
	timer     clock.Timer
	round     uint64 // counts parks: a timer of an earlier one is ignored
	stopCtx   func() bool
	parked    bool // waiting; whoever clears it resumes the receiver
	woken     bool // the current try was started by a send's wake-up
	signaled  bool // a wake-up came while a try ran
	cancelled bool // ctx ended
}

type receiveResult struct {
	ds  []Delivery
	err error
}

// attempt makes one try. It returns the result and true when the receive
// is over, or false when it parked.
func (r *receiver) attempt() ([]Delivery, error, bool) {
	q := r.q
	now := q.e.clk.Now()
	q.mu.Lock()
	woken := r.woken
	r.woken = false
	if r.cancelled || r.ctx.Err() != nil {
		// The caller gave up (or was woken as it did): take nothing it
		// could not receive.
		r.endLocked(woken, false)
		q.mu.Unlock()
		return nil, nil, true
	}
	if q.deleted {
		r.endLocked(false, false)
		q.mu.Unlock()
		return nil, queueDoesNotExist(), true
	}
	if r.deadline.IsZero() {
		wait := q.cfg.ReceiveWait
		if r.in.Wait != nil {
			wait = *r.in.Wait
		}
		r.deadline = now.Add(wait)
	}
	got, ops, moves, err := q.receiveLocked(r.in, now)
	park := len(got) == 0 && err == nil && now.Before(r.deadline) && !q.e.isStopping()
	if park {
		r.parkLocked(now)
	} else {
		r.endLocked(woken, len(got) > 0)
	}
	q.mu.Unlock()
	if len(ops) > 0 {
		// Receives are persisted lazily: a lost one only means redelivery.
		if cerr := q.e.store.Commit(r.ctx, ops, false); cerr != nil {
			q.e.logStoreError(cerr)
		}
	}
	if len(moves) > 0 {
		q.e.moveToDeadLetter(r.ctx, q, moves)
	}
	switch {
	case park:
		return nil, nil, false
	case len(got) > 0:
		ds, err := q.readDeliveries(r.ctx, got)
		return ds, err, true
	default:
		return got, err, true
	}
}

// parkLocked lines the receiver up for a wake-up and sets its timer.
// The timer is set before the waiter is listed: whoever sees the poll
// parked (WaiterAdded) sees its timer running, so time that passes from
// then on counts toward it.
func (r *receiver) parkLocked(now time.Time) {
	q := r.q
	r.signaled = false
	wakeAt := r.deadline
	if len(q.timing) > 0 && q.timing[0].visibleAt < nanos(wakeAt) {
		wakeAt = fromNanos(q.timing[0].visibleAt)
	}
	if r.done == nil && r.ch == nil {
		r.ch = make(chan receiveResult, 1)
	}
	r.round++
	round := r.round
	r.timer = q.e.clk.AfterFunc(wakeAt.Sub(now), func() { r.timerFired(round) })
	r.w.r = r
	q.waiters.add(&r.w)
	r.parked = true
	if r.stopCtx == nil && r.ctx.Done() != nil {
		r.stopCtx = context.AfterFunc(r.ctx, r.cancel)
	}
}

// endLocked takes the receiver out of the line for good. A wake-up it
// did not use goes to the next receiver: one that started this try and
// received nothing, or one that came during it.
func (r *receiver) endLocked(woken, received bool) {
	r.q.waiters.remove(&r.w)
	if (woken && !received) || r.signaled {
		r.signaled = false
		r.q.wakeLocked(1)
	}
}

// wokenLocked is a send's wake-up; the waiter is already out of the line.
func (r *receiver) wokenLocked() {
	if !r.parked {
		r.signaled = true
		return
	}
	r.parked = false
	r.woken = true
	r.timer.Stop()
	go r.resume()
}

// timerFired is the timer of park round: the deadline, or a message
// becoming visible. The waiter keeps its place in the line while it tries
// again.
func (r *receiver) timerFired(round uint64) {
	r.q.mu.Lock()
	if !r.parked || r.round != round {
		r.q.mu.Unlock()
		return
	}
	r.parked = false
	r.q.mu.Unlock()
	r.resume()
}

// cancel is the end of the receiver's context.
func (r *receiver) cancel() {
	q := r.q
	q.mu.Lock()
	r.cancelled = true
	if !r.parked {
		q.mu.Unlock()
		return // a try runs, and will see cancelled; or it is over
	}
	r.parked = false
	r.timer.Stop()
	q.waiters.remove(&r.w)
	q.mu.Unlock()
	r.finish(nil, nil)
}

func (r *receiver) resume() {
	if ds, err, done := r.attempt(); done {
		r.finish(ds, err)
	}
}

// finish hands the result over, once.
func (r *receiver) finish(ds []Delivery, err error) {
	if r.stopCtx != nil {
		r.stopCtx()
	}
	if r.done != nil {
		r.done(ds, err)
		return
	}
	r.ch <- receiveResult{ds, err}
}
