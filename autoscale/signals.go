package autoscale

import "time"

// signalWindow is how far back the rates learned from the workers look:
// long enough to smooth bursts of completions, short enough to follow a
// change of load within the controller's reaction time.
const signalWindow = 10 * time.Second

// signalLearner derives, from the workers' counters and the queue's counts
// read at each tick, what a queue's attributes do not say: the mean
// processing time, the completion rate and the arrival rate. It works on
// every fleet whose workers report their status, whatever the queue
// (Amazon SQS included). Rates are counter growth over the injected
// clock's time. The controller's tickMu guards it.
type signalLearner struct {
	last     map[string]WorkerCounters // by worker ID, at the previous tick
	readings []signalReading           // oldest first, spanning at most signalWindow
	// totals accumulate each worker's growth since it was first seen, so
	// they only grow as workers come and go.
	completed, succeeded uint64
	handler              time.Duration
	// processing is the last processing time learned; it is kept while no
	// message completes.
	processing time.Duration
}

type signalReading struct {
	at                   time.Time
	completed, succeeded uint64
	handler              time.Duration
	backlog              int // visible + in flight + delayed
}

// learned is what the learner derived at one tick; zero values are
// unknown.
type learned struct {
	ProcessingTime time.Duration
	CompletionRate float64
	ArrivalRate    float64
	// Known is true once two readings with reporting workers span some
	// time, so that the rates (even 0) are measurements.
	Known bool
}

// observe adds one tick's reading and returns what follows from the
// readings of the last signalWindow.
func (l *signalLearner) observe(now time.Time, q QueueStats, f FleetState) learned {
	if f.Sensors == nil {
		return learned{}
	}
	seen := make(map[string]WorkerCounters, len(f.Sensors.Workers))
	for _, w := range f.Sensors.Workers {
		seen[w.ID] = w
		prev, ok := l.last[w.ID]
		// A worker seen for the first time, or whose counters went back
		// (a restarted process under the same name), sets a baseline.
		if !ok || w.Completed < prev.Completed || w.Succeeded < prev.Succeeded || w.HandlerTime < prev.HandlerTime {
			continue
		}
		l.completed += w.Completed - prev.Completed
		l.succeeded += w.Succeeded - prev.Succeeded
		l.handler += w.HandlerTime - prev.HandlerTime
	}
	l.last = seen
	l.readings = append(l.readings, signalReading{
		at: now, completed: l.completed, succeeded: l.succeeded, handler: l.handler,
		backlog: q.Visible + q.InFlight + q.Delayed,
	})
	cut := 0
	for cut < len(l.readings)-2 && now.Sub(l.readings[cut+1].at) >= signalWindow {
		cut++
	}
	l.readings = l.readings[cut:]
	first := l.readings[0]
	span := now.Sub(first.at).Seconds()
	if span <= 0 {
		return learned{ProcessingTime: l.processing}
	}
	out := learned{Known: true}
	done := l.completed - first.completed
	out.CompletionRate = float64(done) / span
	if done > 0 {
		l.processing = (l.handler - first.handler) / time.Duration(done)
	}
	out.ProcessingTime = l.processing
	// What entered the queue is what it holds more now, plus what the
	// workers deleted meanwhile.
	grew := float64(l.readings[len(l.readings)-1].backlog - first.backlog)
	out.ArrivalRate = max((grew+float64(l.succeeded-first.succeeded))/span, 0)
	return out
}

// fill sets the queue signals the source could not tell from what the
// workers taught; a source's own reading wins.
func (k learned) fill(q *QueueStats) {
	if q.ProcessingTime == 0 {
		q.ProcessingTime = k.ProcessingTime
	}
	if !k.Known {
		return
	}
	if q.CompletionRate == 0 {
		q.CompletionRate = k.CompletionRate
	}
	if q.ArrivalRate == 0 {
		q.ArrivalRate = k.ArrivalRate
	}
}
