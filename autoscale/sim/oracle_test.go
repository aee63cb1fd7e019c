package sim

import "testing"

// TestOracleCosts checks the oracle against schedules worked out by hand,
// under the simulator's cost rules: every second of a running or starting
// worker counts, a start costs the start-up, no minimum billed time.
func TestOracleCosts(t *testing.T) {
	t.Parallel()
	at := func(n int, pairs ...int) []int {
		a := make([]int, n)
		for i := 0; i < len(pairs); i += 2 {
			a[pairs[i]] += pairs[i+1]
		}
		return a
	}
	for _, tc := range []struct {
		name     string
		arrivals []int
		startup  float64
		want     float64
		peak     int
	}{
		// One message: one start-up, then one second (the step) of work.
		{"one message", at(60, 10, 1), 5, 6, 1},
		// Two messages 3 s apart: the 2 s gap is kept idle (cheaper than
		// a second start-up of 5 s).
		{"kept gap", at(60, 10, 1, 13, 1), 5, 5 + 1 + 2 + 1, 1},
		// Two messages 20 s apart: two starts.
		{"two starts", at(60, 10, 1, 30, 1), 5, 2 * (5 + 1), 1},
		// 3,000 messages of 0.1 s at once, due within 10 s: 30 workers
		// for 10 s, each started 30 s early.
		{"burst", at(120, 10, 3000), 30, 30 * (10 + 30), 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := oracle(tc.arrivals, 1, 0.1, 10, tc.startup, 50)
			if o.WorkerSeconds != tc.want || o.Peak != tc.peak || o.Late != 0 {
				t.Fatalf("oracle %+v, want %v worker-seconds, peak %d", o, tc.want, tc.peak)
			}
		})
	}
}
