// Package memlimit keeps the Go runtime's soft memory limit a step above
// the heap a server lives on, so that its resident size follows its data
// instead of doubling it.
//
// The Go collector lets the heap grow to twice what survived the last
// collection before it runs again (GOGC=100). For a queue server holding a
// large backlog's index, that doubling is most of its resident size: 10
// million queued messages need about 600 MiB of live heap, and the process
// would grow toward 1.2 GiB between collections. A soft limit of the live
// heap plus a margin makes the collector run before that, and only then:
// at a small backlog the limit sits far above the GOGC goal and changes
// nothing.
package memlimit

import (
	"context"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// Policy turns the live heap into a soft memory limit:
// Live*(1+Ratio) + Headroom, never below Floor.
type Policy struct {
	Ratio    float64 // share of the live heap allowed on top of it
	Headroom uint64  // bytes allowed on top of that
	Floor    uint64  // the least limit set
}

// DefaultPolicy allows an eighth of the live heap plus 128 MiB on top of
// it, and never less than 256 MiB in all.
var DefaultPolicy = Policy{Ratio: 0.125, Headroom: 128 << 20, Floor: 256 << 20}

// Limit returns the soft limit for a live heap of live bytes.
func (p Policy) Limit(live uint64) uint64 {
	l := uint64(float64(live)*(1+p.Ratio)) + p.Headroom
	return max(l, p.Floor)
}

// Tuner sets the soft memory limit from the live heap every Interval.
type Tuner struct {
	clk      clock.Clock
	policy   Policy
	interval time.Duration
	live     func() uint64     // the heap that survived the last collection
	set      func(int64) int64 // debug.SetMemoryLimit

	mu      sync.Mutex // guards stop, done, last and stopped
	stop    chan struct{}
	done    chan struct{}
	last    uint64 // the limit set last
	stopped bool
}

// Interval is how often a Tuner reads the live heap.
const Interval = time.Second

// New returns a Tuner that applies p to this process.
func New(clk clock.Clock, p Policy) *Tuner {
	return &Tuner{clk: clk, policy: p, interval: Interval, live: liveHeap, set: debug.SetMemoryLimit}
}

// Start sets the limit once, then keeps it up to date in the background
// until Stop or ctx ends.
func (t *Tuner) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		return nil
	}
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	t.applyLocked()
	go t.run(ctx, t.stop, t.done)
	return nil
}

func (t *Tuner) run(ctx context.Context, stop, done chan struct{}) {
	defer close(done)
	for {
		tm := t.clk.NewTimer(t.interval)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-stop:
			tm.Stop()
			return
		case <-tm.C():
		}
		t.mu.Lock()
		t.applyLocked()
		t.mu.Unlock()
	}
}

func (t *Tuner) applyLocked() {
	l := min(t.policy.Limit(t.live()), math.MaxInt64)
	if l != t.last {
		t.set(int64(l))
		t.last = l
	}
}

// Limit returns the limit set last, 0 before Start.
func (t *Tuner) Limit() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// Stop ends the updates and leaves the last limit in place. It is
// idempotent.
func (t *Tuner) Stop() {
	t.mu.Lock()
	stop, done := t.stop, t.done
	if stop != nil && !t.stopped {
		t.stopped = true
		close(stop)
	}
	t.mu.Unlock()
	if done != nil {
		<-done
	}
}

// liveHeap reads the heap marked live by the last collection.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
