package autoscale

import "time"

// startupLearner measures how long the fleet takes from a raised desired
// count to a running worker. Each raise is remembered with its time; each
// newly running worker completes the oldest one. A lowered desired count
// forgets the newest raises it cancelled. Estimate is the mean of the last
// samples. It is a value, owned by the controller's tick.
type startupLearner struct {
	prevDesired, prevRunning int
	seen                     bool
	pending                  []time.Time // raises not yet running, oldest first
	samples                  []time.Duration
	next                     int // ring index into samples
}

const startupSamples = 10

// observe folds one reading of the fleet, made at now, into l.
func (l *startupLearner) observe(now time.Time, f FleetState) {
	if !l.seen {
		l.seen = true
		l.prevDesired, l.prevRunning = f.Desired, f.Running
		for range max(0, f.Starting) {
			l.pending = append(l.pending, now)
		}
		return
	}
	for range max(0, f.Running-l.prevRunning) {
		if len(l.pending) == 0 {
			break
		}
		l.add(now.Sub(l.pending[0]))
		l.pending = l.pending[1:]
	}
	// Only the workers still starting can be pending.
	if extra := len(l.pending) - max(0, f.Starting); extra > 0 {
		l.pending = l.pending[:len(l.pending)-extra]
	}
	// Workers someone else asked for start counting when first seen.
	for len(l.pending) < f.Starting {
		l.pending = append(l.pending, now)
	}
	l.prevDesired, l.prevRunning = f.Desired, f.Running
}

// raised records that the desired count went from..to at at (the
// controller's own change, applied).
func (l *startupLearner) raised(at time.Time, from, to int) {
	for range max(0, to-from) {
		l.pending = append(l.pending, at)
	}
	l.prevDesired = to
}

func (l *startupLearner) add(d time.Duration) {
	if len(l.samples) < startupSamples {
		l.samples = append(l.samples, d)
		return
	}
	l.samples[l.next] = d
	l.next = (l.next + 1) % startupSamples
}

// estimate is the mean of the samples, 0 before the first.
func (l *startupLearner) estimate() time.Duration {
	if len(l.samples) == 0 {
		return 0
	}
	var sum time.Duration
	for _, s := range l.samples {
		sum += s
	}
	return sum / time.Duration(len(l.samples))
}
