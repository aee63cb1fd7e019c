package clock

import (
	"sync"
	"time"
)

// Fake is a Clock that moves only when told to. Timers fire during Advance,
// in deadline order. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex // guards now, timers and waiters
	now     time.Time
	timers  []*fakeTimer
	waiters []chan struct{}
}

// NewFake returns a Fake set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1)}
	f.addLocked(t)
	return t
}

// AfterFunc returns a timer that calls fn in a goroutine of its own when
// the fake time reaches now+d.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, at: f.now.Add(d), fn: fn}
	f.addLocked(t)
	return t
}

func (f *Fake) addLocked(t *fakeTimer) {
	if !t.at.After(f.now) {
		t.fire(f.now)
		return
	}
	f.timers = append(f.timers, t)
	for _, w := range f.waiters {
		close(w)
	}
	f.waiters = nil
}

// Advance moves the time forward by d and fires every timer that is due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.timers[:0]
	for _, t := range f.timers {
		if !t.at.After(f.now) {
			t.fire(f.now)
			continue
		}
		kept = append(kept, t)
	}
	clear(f.timers[len(kept):])
	f.timers = kept
}

// Set moves the time to t (forward only) and fires due timers.
func (f *Fake) Set(t time.Time) {
	if d := t.Sub(f.Now()); d > 0 {
		f.Advance(d)
	}
}

// Pending reports how many timers are waiting to fire.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// TimerCreated returns a channel that is closed the next time a timer is
// created: a signal for tests that must wait until a component is blocked on
// the clock before advancing it.
func (f *Fake) TimerCreated() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan struct{})
	f.waiters = append(f.waiters, c)
	return c
}

type fakeTimer struct {
	f     *Fake
	at    time.Time
	c     chan time.Time // nil for AfterFunc
	fn    func()         // AfterFunc's
	fired bool           // guarded by f.mu
}

// fire delivers the time on C, or starts fn; f.mu is held.
func (t *fakeTimer) fire(now time.Time) {
	t.fired = true
	if t.fn != nil {
		go t.fn()
		return
	}
	t.c <- now
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	if t.fired {
		return false
	}
	for i, x := range t.f.timers {
		if x == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			t.fired = true
			return true
		}
	}
	return false
}
