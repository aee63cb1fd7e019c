package up

import (
	"context"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

// EngineSource observes a queue of the embedded engine directly, without a
// network round trip, and adds what GetQueueAttributes cannot tell: the
// oldest message's age, the arrival and completion rates, and the mean
// processing time. Rates are measured over a sliding window of readings;
// the processing time follows from Little's law as the mean number of
// messages in flight over the window divided by the completion rate.
type EngineSource struct {
	q   *queue.Queue
	clk clock.Clock
	win time.Duration

	mu       sync.Mutex // guards readings
	readings []reading  // oldest first, spanning at most win
}

type reading struct {
	at       time.Time
	sent     uint64
	deleted  uint64
	inFlight int
}

var _ autoscale.QueueSource = (*EngineSource)(nil)

// NewEngineSource observes q. window is how far back rates look (default
// 10 s): long enough to smooth bursts of deletes, short enough to follow a
// change of load within the autoscaler's reaction time.
func NewEngineSource(q *queue.Queue, clk clock.Clock, window time.Duration) *EngineSource {
	if window <= 0 {
		window = 10 * time.Second
	}
	return &EngineSource{q: q, clk: clk, win: window}
}

// Observe implements autoscale.QueueSource.
func (s *EngineSource) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	if err := ctx.Err(); err != nil {
		return autoscale.QueueStats{}, err
	}
	c := s.q.Counts()
	st := s.q.Stats()
	now := s.clk.Now()
	out := autoscale.QueueStats{
		Visible: c.Visible, InFlight: c.Inflight, Delayed: c.Delayed,
		OldestAge: s.q.OldestAge(),
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.readings = append(s.readings, reading{at: now, sent: st.Sent, deleted: st.Deleted, inFlight: c.Inflight})
	cut := 0
	for cut < len(s.readings)-2 && now.Sub(s.readings[cut+1].at) >= s.win {
		cut++
	}
	s.readings = s.readings[cut:]
	first := s.readings[0]
	span := now.Sub(first.at).Seconds()
	if span <= 0 {
		return out, nil
	}
	out.ArrivalRate = float64(st.Sent-first.sent) / span
	out.CompletionRate = float64(st.Deleted-first.deleted) / span
	if out.CompletionRate > 0 {
		// Little's law: time in flight = mean messages in flight / rate.
		var sum float64
		for _, r := range s.readings {
			sum += float64(r.inFlight)
		}
		mean := sum / float64(len(s.readings))
		out.ProcessingTime = time.Duration(mean / out.CompletionRate * float64(time.Second))
	}
	return out, nil
}
