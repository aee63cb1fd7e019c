package memlimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

func TestPolicyLimit(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy
	for _, c := range []struct {
		live, want uint64
	}{
		{0, 256 << 20},         // the floor
		{100 << 20, 256 << 20}, // 240.5 MiB: still the floor
		{600 << 20, 803 << 20}, // 10 million queued messages: under 1 GiB
		{8 << 30, 9344 << 20},  // a big heap keeps an eighth on top
	} {
		if got := p.Limit(c.live); got != c.want {
			t.Errorf("Limit(%d MiB) = %d MiB, want %d MiB", c.live>>20, got>>20, c.want>>20)
		}
	}
}

// TestTunerFollowsTheLiveHeap: the limit is set at Start and follows the
// live heap on each tick of the clock, and Stop leaves it in place.
func TestTunerFollowsTheLiveHeap(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	live := uint64(1 << 30)
	var set []int64
	setCh := make(chan struct{}, 10)
	tu := New(clk, DefaultPolicy)
	tu.live = func() uint64 { mu.Lock(); defer mu.Unlock(); return live }
	tu.set = func(l int64) int64 {
		mu.Lock()
		set = append(set, l)
		mu.Unlock()
		setCh <- struct{}{}
		return 0
	}
	// Asked before Start: the tuner's first timer may exist before Start
	// returns, and TimerCreated signals only timers made after it.
	created := clk.TimerCreated()
	if err := tu.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-setCh
	if got, want := tu.Limit(), DefaultPolicy.Limit(1<<30); got != want {
		t.Fatalf("limit after Start %d, want %d", got, want)
	}
	mu.Lock()
	live = 2 << 30
	mu.Unlock()
	<-created
	clk.Advance(Interval)
	<-setCh
	if got, want := tu.Limit(), DefaultPolicy.Limit(2<<30); got != want {
		t.Fatalf("limit after a tick %d, want %d", got, want)
	}
	tu.Stop()
	tu.Stop()
	mu.Lock()
	defer mu.Unlock()
	if len(set) != 2 {
		t.Fatalf("limit set %d times, want 2", len(set))
	}
}
