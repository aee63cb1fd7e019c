package testwait_test

import (
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testwait"
)

func TestForReturnsOnceTrue(t *testing.T) {
	t.Parallel()
	n := 0
	testwait.For(t, 10*time.Second, "the third look", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("looked %d times", n)
	}
}

// recorder is a testing.TB that records Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = format
	r.mu.Unlock()
	panic(r)
}

func TestForFailsAfterLimit(t *testing.T) {
	t.Parallel()
	r := &recorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != r {
				panic(v)
			}
		}()
		testwait.For(r, 30*time.Millisecond, "never", func() bool { return false })
	}()
	if r.failed == "" {
		t.Fatal("For returned on a condition that never held")
	}
}
