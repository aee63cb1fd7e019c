package sim

import "math"

// Oracle is the cheapest clairvoyant schedule for a load: it knows every
// arrival in advance and starts each worker exactly one start-up time before
// it is needed.
//
// How it is computed, on the run's one-second steps, treating work as a
// fluid of worker-seconds (arrivals × mean processing time):
//  1. Work arriving in second a is due by the end of second a + D - 1,
//     D = the objective in whole seconds (so every message starts within
//     the objective).
//  2. Each second the oracle runs whole workers at the steadiest rate that
//     meets the deadlines of the next two minutes, max over k of
//     (Due(t+k) - Served) / (k+1), and at least what keeps every later
//     deadline reachable at the maximum M, max over k of Due(t+k) -
//     Served - M×k; never more than M, never more than the work arrived
//     (rounded up to whole workers; the spare capacity serves the oldest
//     work early). Work arriving in the run's last seconds is served after
//     it.
//  3. The profile n(t) is split into levels (worker k runs while n(t) >= k).
//     Each run of a level costs its length plus one start-up (the worker
//     starts one start-up early); a gap shorter than the start-up is kept
//     idle instead, as that costs less than a new start.
//
// WorkerSeconds is that cost. Where even M workers cannot meet every
// deadline, the oracle runs M until it catches up (Late counts those
// seconds).
type Oracle struct {
	WorkerSeconds float64
	Peak          int
	Late          int
}

// oracle computes the Oracle for arrivals per step (seconds), mean
// processing time mean (seconds), objective and start-up in seconds, and at
// most maxWorkers.
func oracle(arrivals []int, step, mean, objective, startup float64, maxWorkers int) Oracle {
	D := max(1, int(math.Floor(objective/step)))
	T := len(arrivals) + D          // the last arrivals are served after the run
	M := float64(maxWorkers) * step // work one step of M workers does
	// Arrived and due work, cumulative, in worker-seconds.
	arrived := make([]float64, T)
	due := make([]float64, T)
	sum := 0.0
	for t := range T {
		if t < len(arrivals) {
			sum += float64(arrivals[t]) * mean
		}
		arrived[t] = sum
		if j := t + D - 1; j < T {
			due[j] = sum
		}
	}
	// g[t] = max over k >= 0 of due[t+k] - M k: what must be served by t
	// for later deadlines to stay reachable at M workers.
	g := make([]float64, T+1)
	g[T] = math.Inf(-1)
	for t := T - 1; t >= 0; t-- {
		g[t] = math.Max(due[t], g[t+1]-M)
	}
	profile := make([]int, T)
	served := 0.0
	var o Oracle
	for t := range T {
		// The steadiest rate that meets the deadlines of the next
		// lookahead steps: max over k of (due[t+k] - served) / (k+1).
		rate := 0.0
		for k := 0; k < lookahead && t+k < T; k++ {
			rate = math.Max(rate, (due[t+k]-served)/float64(k+1))
		}
		need := math.Min(math.Max(rate, g[t]-served), arrived[t]-served)
		n := 0
		if need > 1e-9 {
			n = min(maxWorkers, int(math.Ceil(need/step-1e-9)))
		}
		if g[t]-served > M+1e-9 {
			o.Late++
		}
		served = math.Min(served+float64(n)*step, arrived[t])
		profile[t] = n
		o.Peak = max(o.Peak, n)
	}
	// Levels: on-time, plus one start-up per start, idle gaps shorter than
	// a start-up kept.
	for k := 1; k <= o.Peak; k++ {
		gap := -1 // steps since this level last ran; -1 before its first run
		for t := range T {
			if profile[t] >= k {
				switch {
				case gap < 0:
					o.WorkerSeconds += startup
				case float64(gap)*step < startup:
					o.WorkerSeconds += float64(gap) * step
				default:
					o.WorkerSeconds += startup
				}
				o.WorkerSeconds += step
				gap = 0
			} else if gap >= 0 {
				gap++
			}
		}
	}
	return o
}

// lookahead is how many steps ahead the oracle spreads work over.
const lookahead = 120
