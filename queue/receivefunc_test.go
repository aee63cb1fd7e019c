package queue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

type funcResult struct {
	ds  []Delivery
	err error
}

// receiveFunc starts a ReceiveFunc and returns the channel its result
// arrives on.
func receiveFunc(ctx context.Context, q *Queue, in ReceiveInput) <-chan funcResult {
	ch := make(chan funcResult, 1)
	q.ReceiveFunc(ctx, in, func(ds []Delivery, err error) { ch <- funcResult{ds, err} })
	return ch
}

// parkFunc starts a ReceiveFunc and returns once it waits on q.
func parkFunc(t *testing.T, ctx context.Context, q *Queue, wait time.Duration) <-chan funcResult {
	t.Helper()
	parked := q.WaiterAdded()
	ch := receiveFunc(ctx, q, ReceiveInput{Max: 1, Wait: &wait})
	<-parked
	return ch
}

// await returns the result on ch, failing the test if it takes more than
// 10 s of real time (on a fake clock that does not move: never).
func await(t *testing.T, ch <-chan funcResult, what string) funcResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("%s was never answered", what)
		return funcResult{}
	}
}

func pending(ch <-chan funcResult) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// Parked long polls hold no goroutine: a thousand of them add none, a send
// answers the oldest with its message, and the wait time answers the rest
// empty.
func TestReceiveFuncParksWithoutGoroutines(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	clk := clock.NewFake(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	e, err := Open(t.Context(), Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	q := mustQueue(t, e, "idle", nil)
	const n = 1000
	before := runtime.NumGoroutine()
	chs := make([]<-chan funcResult, n)
	for i := range chs {
		chs[i] = parkFunc(t, t.Context(), q, 20*time.Second)
	}
	if grown := runtime.NumGoroutine() - before; grown > 20 {
		t.Fatalf("%d parked polls added %d goroutines", n, grown)
	}
	if q.Waiting() != n {
		t.Fatalf("%d waiting, want %d", q.Waiting(), n)
	}
	send(t, q, SendInput{Body: "first"})
	if r := <-chs[0]; r.err != nil || len(r.ds) != 1 || r.ds[0].Body != "first" {
		t.Fatalf("oldest poll: %+v", r)
	}
	for _, ch := range chs[1:] {
		if !pending(ch) {
			t.Fatal("a send of one message answered a second poll")
		}
	}
	clk.Advance(20 * time.Second)
	for i, ch := range chs[1:] {
		if r := <-ch; r.err != nil || len(r.ds) != 0 {
			t.Fatalf("poll %d at its deadline: %+v", i+1, r)
		}
	}
	if q.Waiting() != 0 {
		t.Fatalf("%d still waiting", q.Waiting())
	}
}

func TestReceiveFuncEnds(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, _ := setup(t)
		q := mustQueue(t, e, "ends", nil)

		// Messages already there: answered at once, on another goroutine.
		send(t, q, SendInput{Body: "ready"})
		if r := <-receiveFunc(ctx, q, ReceiveInput{Max: 10}); r.err != nil || len(r.ds) != 1 {
			t.Fatalf("a queued message: %+v", r)
		}
		// Bad input: the engine's error, without waiting.
		if r := <-receiveFunc(ctx, q, ReceiveInput{Max: 11}); !errors.Is(r.err, &Error{Code: ErrInvalidParameterValue}) {
			t.Fatalf("Max 11: %+v", r)
		}

		// The caller gives up: answered empty, out of the line, and the
		// next poll still gets the next message.
		cctx, cancel := context.WithCancel(ctx)
		gone := parkFunc(t, cctx, q, 20*time.Second)
		next := parkFunc(t, ctx, q, 20*time.Second)
		cancel()
		if r := <-gone; r.err != nil || len(r.ds) != 0 {
			t.Fatalf("cancelled poll: %+v", r)
		}
		send(t, q, SendInput{Body: "after"})
		if r := <-next; len(r.ds) != 1 || r.ds[0].Body != "after" {
			t.Fatalf("poll behind a cancelled one: %+v", r)
		}

		// The caller gives up just before a send wakes its poll: the
		// wake-up goes on to the next poll, which gets the message now,
		// not at its deadline (the fake clock never gets there).
		for range 50 {
			cctx, cancel := context.WithCancel(ctx)
			first := parkFunc(t, cctx, q, 20*time.Second)
			second := parkFunc(t, ctx, q, 20*time.Second)
			cancel()
			send(t, q, SendInput{Body: "handed on"})
			r1 := <-first
			r2 := await(t, second, "the poll behind one given up")
			if len(r1.ds)+len(r2.ds) != 1 || r1.err != nil || r2.err != nil {
				t.Fatalf("one message, two polls, the first given up: %+v and %+v", r1, r2)
			}
			if len(r1.ds) == 1 {
				q.Return(ctx, r1.ds) // as a server whose client left does
				receive(t, q, 1)
			}
		}

		// The queue is deleted: QueueDoesNotExist.
		doomed := parkFunc(t, ctx, q, 20*time.Second)
		if err := e.DeleteQueue(ctx, q.Name()); err != nil {
			t.Fatal(err)
		}
		if r := <-doomed; !errors.Is(r.err, &Error{Code: ErrQueueDoesNotExist}) {
			t.Fatalf("poll on a deleted queue: %+v", r)
		}

		// The engine quiesces: answered empty, and new polls do not wait.
		q2 := mustQueue(t, e, "quiesce", nil)
		waiting := parkFunc(t, ctx, q2, 20*time.Second)
		e.Quiesce()
		if r := <-waiting; r.err != nil || len(r.ds) != 0 {
			t.Fatalf("poll at Quiesce: %+v", r)
		}
		if r := <-receiveFunc(ctx, q2, ReceiveInput{Max: 1}); r.err != nil || len(r.ds) != 0 {
			t.Fatalf("poll after Quiesce: %+v", r)
		}
	})
}

// A delayed message wakes a parked poll when it becomes visible, through
// the poll's timer, not a send.
func TestReceiveFuncWakesWhenDelayEnds(t *testing.T) {
	forEachStore(t, func(t *testing.T, setup setupFunc) {
		ctx, e, clk := setup(t)
		q := mustQueue(t, e, "delay", nil)
		three := 3 * time.Second
		send(t, q, SendInput{Body: "soon", Delay: &three})
		ch := parkFunc(t, ctx, q, 20*time.Second)
		clk.Advance(2 * time.Second)
		if !pending(ch) {
			t.Fatal("answered before the delay ended")
		}
		clk.Advance(time.Second)
		if r := <-ch; len(r.ds) != 1 || r.ds[0].Body != "soon" {
			t.Fatalf("after the delay: %+v", r)
		}
	})
}

// Senders and re-polling receivers on the real clock, both kinds of
// receive mixed, with some polls given up on the way: every message is
// received once, none is lost to a wake-up that went nowhere (such a message
// would wait for a poll's 20 s deadline).
func TestReceiveFuncUnderConcurrentSends(t *testing.T) {
	t.Parallel()
	e, err := Open(t.Context(), Options{Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	q := mustQueue(t, e, "busy", nil)
	const senders, perSender, pollers = 4, 500, 8
	total := senders * perSender
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		got  atomic.Int64
		all  = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	take := func(ds []Delivery) {
		for _, d := range ds {
			if err := q.Delete(context.Background(), d.ReceiptHandle); err != nil {
				t.Errorf("delete: %v", err)
			}
			mu.Lock()
			seen[d.Body]++
			mu.Unlock()
			if got.Add(1) == int64(total) {
				close(all)
			}
		}
	}
	wait := 20 * time.Second
	var wg sync.WaitGroup
	for p := range pollers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				pctx, pcancel := context.WithCancel(ctx)
				if i%7 == 3 {
					pcancel() // given up on before or while it waits
				}
				var ds []Delivery
				if p%2 == 0 {
					ds, _ = q.Receive(pctx, ReceiveInput{Max: 3, Wait: &wait})
				} else {
					r := <-receiveFunc(pctx, q, ReceiveInput{Max: 3, Wait: &wait})
					ds = r.ds
				}
				pcancel()
				if len(ds) > 0 && pctx.Err() != nil && i%7 == 3 {
					// A cancelled poll that still received: as a server
					// whose client left, give the messages back.
					q.Return(context.Background(), ds)
					continue
				}
				take(ds)
			}
		})
	}
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				if _, err := q.Send(context.Background(), SendInput{Body: fmt.Sprintf("%d-%d", s, i)}); err != nil {
					t.Errorf("send: %v", err)
				}
			}
		})
	}
	select {
	case <-all:
	case <-time.After(15 * time.Second): // under the wait: a lost wake-up would show

		t.Fatalf("received %d of %d messages; %d polls waiting", got.Load(), total, q.Waiting())
	}
	cancel()
	wg.Wait()
	for b, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d times", b, n)
		}
	}
	if len(seen) != total {
		t.Fatalf("received %d distinct messages, want %d", len(seen), total)
	}
}
