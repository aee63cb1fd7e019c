package loadgen

import (
	"testing"
	"time"
)

// The token bucket never lets more than one batch plus rate × t through
// by time t, keeps up with the rate, and catches up at most MaxCatchUp's
// worth after a stall.
func TestTokenBucket(t *testing.T) {
	t.Parallel()
	start := time.Unix(0, 0)
	const rate, batch = 1000.0, 10
	b := newTokenBucket(rate, batch, start)
	taken := 0
	step := 700 * time.Microsecond
	for now := start; now.Sub(start) <= 10*time.Second; now = now.Add(step) {
		for b.take(now, batch) == 0 {
			taken += batch
		}
		el := now.Sub(start).Seconds()
		if float64(taken) > batch+rate*el+1e-6 {
			t.Fatalf("at %.4f s: %d taken, over %v", el, taken, batch+rate*el)
		}
		if float64(taken) < rate*el-batch {
			t.Fatalf("at %.4f s: %d taken, behind %v", el, taken, rate*el)
		}
	}
	// The wait it names is enough and not more than needed.
	now := start.Add(20 * time.Second)
	for b.take(now, batch) == 0 {
	}
	wait := b.take(now, batch)
	if b.take(now.Add(wait-time.Microsecond), batch) == 0 {
		t.Fatalf("tokens before the wait of %v was over", wait)
	}
	if b.take(now.Add(wait), batch) != 0 {
		t.Fatalf("no tokens after the wait of %v", wait)
	}
	// After a stall of a minute, at most a second's worth goes at once.
	now = now.Add(time.Minute)
	burst := 0
	for b.take(now, batch) == 0 {
		burst += batch
	}
	if burst != int(rate*MaxCatchUp.Seconds()) {
		t.Fatalf("caught up %d at once, want %v", burst, rate*MaxCatchUp.Seconds())
	}
	// A slow rate still moves in whole batches.
	slow := newTokenBucket(2, batch, start)
	if slow.take(start, batch) != 0 || slow.take(start, batch) != 5*time.Second {
		t.Fatal("a batch of 10 at 2/s comes every 5 s")
	}
}
