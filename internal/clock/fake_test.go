package clock

import (
	"testing"
	"time"
)

func TestFakeFiresInOrderOnlyWhenDue(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(5 * time.Second)
	f.Advance(time.Second)
	select {
	case <-a.C():
		t.Fatal("timer fired early")
	default:
	}
	f.Advance(time.Second)
	if got := <-a.C(); !got.Equal(start.Add(2 * time.Second)) {
		t.Fatalf("fired at %v", got)
	}
	if !b.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	f.Advance(10 * time.Second)
	select {
	case <-b.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if f.Pending() != 0 {
		t.Fatalf("pending = %d", f.Pending())
	}
}

func TestFakeTimerCreatedSignals(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Unix(0, 0))
	created := f.TimerCreated()
	go f.NewTimer(time.Second)
	<-created
}

func TestFakeAfterFuncRunsWhenDueUnlessStopped(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Unix(0, 0))
	ran := make(chan string, 3)
	f.AfterFunc(2*time.Second, func() { ran <- "a" })
	b := f.AfterFunc(3*time.Second, func() { ran <- "b" })
	f.AfterFunc(0, func() { ran <- "now" })
	if got := <-ran; got != "now" {
		t.Fatalf("a zero AfterFunc ran %q first", got)
	}
	f.Advance(time.Second)
	if f.Pending() != 2 {
		t.Fatalf("pending = %d after 1 s, want 2", f.Pending())
	}
	f.Advance(time.Second)
	if got := <-ran; got != "a" {
		t.Fatalf("ran %q at 2 s, want a", got)
	}
	if !b.Stop() || b.Stop() {
		t.Fatal("Stop of a pending AfterFunc: want true once, then false")
	}
	f.Advance(time.Minute)
	if f.Pending() != 0 {
		t.Fatalf("pending = %d", f.Pending())
	}
	select {
	case got := <-ran:
		t.Fatalf("stopped AfterFunc ran %q", got)
	default:
	}
	if b.C() != nil {
		t.Fatal("an AfterFunc timer has a channel")
	}
}

func TestRealAfterFunc(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	Real{}.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	if !(Real{}).AfterFunc(time.Hour, func() {}).Stop() {
		t.Fatal("Stop of a pending real AfterFunc reported false")
	}
}
