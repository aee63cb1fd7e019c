// Package queueset reads several queues as one: the queue source of a
// fleet that consumes more than one queue (config fleets[].queues). Each
// queue is read by its own autoscale.QueueSource; the readings combine as
// KEDA combines several triggers of one ScaledObject:
//
//   - Sum (the default): the backlogs and the rates add up, the oldest
//     message is the oldest of all, the processing time is the mean
//     weighted by completions. The fleet works through every queue, so it
//     is sized for their total.
//   - Worst: each signal's worst value across the queues (the largest
//     backlog, the oldest message, the longest processing time). The
//     fleet is sized for its most loaded queue alone.
//
// It is pure domain code: it imports no SDK.
package queueset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale"
)

// Combine says how the readings combine.
type Combine int

const (
	// Sum adds the queues up.
	Sum Combine = iota
	// Worst takes the most loaded queue.
	Worst
)

func (c Combine) String() string {
	if c == Worst {
		return "worst"
	}
	return "sum"
}

// Member is one queue of a Set.
type Member struct {
	// Name names the queue in errors.
	Name   string
	Source autoscale.QueueSource
}

// Set is a QueueSource over several queues.
type Set struct {
	members []Member
	combine Combine

	mu   sync.Mutex // guards last
	last []Reading  // each queue's reading at the last successful Observe
}

// Reading is one queue's part of an observation.
type Reading struct {
	Name  string
	Stats autoscale.QueueStats
}

var _ autoscale.QueueSource = (*Set)(nil)

// New returns the Set of members (at least one), combined by c.
func New(c Combine, members ...Member) (*Set, error) {
	if len(members) == 0 {
		return nil, errors.New("queueset: no queue")
	}
	for _, m := range members {
		if m.Source == nil {
			return nil, fmt.Errorf("queueset: queue %q has no source", m.Name)
		}
	}
	return &Set{members: members, combine: c}, nil
}

// Observe reads every queue in turn and combines the readings. A queue
// that cannot be read fails the whole observation (naming the queue): a
// partial sum would look like a smaller backlog and scale the fleet in.
func (s *Set) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	stats := make([]autoscale.QueueStats, len(s.members))
	for i, m := range s.members {
		st, err := m.Source.Observe(ctx)
		if err != nil {
			return autoscale.QueueStats{}, fmt.Errorf("queue %s: %w", m.Name, err)
		}
		stats[i] = st
	}
	last := make([]Reading, len(stats))
	for i, st := range stats {
		last[i] = Reading{Name: s.members[i].Name, Stats: st}
	}
	s.mu.Lock()
	s.last = last
	s.mu.Unlock()
	return Of(s.combine, stats...), nil
}

// Readings are each queue's readings at the last successful Observe (nil
// before): what the combined observation was made of, for a dashboard.
func (s *Set) Readings() []Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Of combines readings by c.
func Of(c Combine, stats ...autoscale.QueueStats) autoscale.QueueStats {
	if len(stats) == 0 {
		return autoscale.QueueStats{}
	}
	if c == Worst {
		return worst(stats)
	}
	var out autoscale.QueueStats
	var weighted, weights float64
	for _, st := range stats {
		out.Visible += st.Visible
		out.InFlight += st.InFlight
		out.Delayed += st.Delayed
		out.OldestAge = max(out.OldestAge, st.OldestAge)
		out.ArrivalRate += st.ArrivalRate
		out.CompletionRate += st.CompletionRate
		if st.ProcessingTime > 0 {
			w := max(st.CompletionRate, 1e-9) // a queue with no rate still counts
			weighted += w * float64(st.ProcessingTime)
			weights += w
		}
	}
	if weights > 0 {
		out.ProcessingTime = time.Duration(weighted / weights)
	}
	return out
}

// worst takes each signal's worst value across the queues: a policy
// that reads one signal then sizes the fleet for the queue where that
// signal is worst, as the largest of KEDA's per-trigger counts would.
func worst(stats []autoscale.QueueStats) autoscale.QueueStats {
	var out autoscale.QueueStats
	for _, st := range stats {
		out.Visible = max(out.Visible, st.Visible)
		out.InFlight = max(out.InFlight, st.InFlight)
		out.Delayed = max(out.Delayed, st.Delayed)
		out.OldestAge = max(out.OldestAge, st.OldestAge)
		out.ArrivalRate = max(out.ArrivalRate, st.ArrivalRate)
		out.CompletionRate = max(out.CompletionRate, st.CompletionRate)
		out.ProcessingTime = max(out.ProcessingTime, st.ProcessingTime)
	}
	return out
}
