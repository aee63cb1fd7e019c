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
