// Package testwait waits in tests for a condition that no event announces:
// the state of real processes, servers and control planes that a test can
// only look at.
package testwait

import (
	"testing"
	"time"
)

// For calls cond until it holds, failing the test (t.Fatalf, naming what
// and limit) if it still does not after limit. It looks again after 5 ms,
// then ever less often, at most every 50 ms: quick when the condition is
// near, light on the machine when it is far.
func For(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	pause := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
