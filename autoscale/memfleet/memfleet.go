// Package memfleet is an in-memory autoscale.Fleet: workers that take a
// start-up delay on an injected clock and are removed idle-first. The
// simulator runs on it, and it is the reference implementation that
// package fleettest checks.
package memfleet

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
)

// Worker is one member of the fleet.
type Worker struct {
	ID int
	// ReadyAt is when the worker finishes starting.
	ReadyAt time.Time
	// BusyUntil is when the worker finishes its current message; the
	// worker is idle at and after it. The fleet's user (the simulator, a
	// test) sets it, within Range.
	BusyUntil time.Time
	// Completed and HandlerTime are the worker's counters as its status
	// document would report them (see ReportWorkers); the fleet's user
	// adds to them, within Range.
	Completed   uint64
	HandlerTime time.Duration
}

// Fleet is an in-memory fleet. It is safe for concurrent use.
type Fleet struct {
	clk        clock.Clock
	startDelay time.Duration

	mu      sync.Mutex // guards workers, nextID, report
	workers []*Worker  // in creation order
	nextID  int
	report  bool
}

// ReportWorkers makes State report what the workers' status documents
// would: Busy (running workers before their BusyUntil), Reporting and
// each running worker's counters, as the fleets over real workers do. Off
// by default, so that the simulator's traces stay those of a fleet that
// reads no status.
func (f *Fleet) ReportWorkers(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.report = on
}

var _ autoscale.Fleet = (*Fleet)(nil)

// New returns an empty fleet whose workers become ready startDelay after
// they are asked for.
func New(clk clock.Clock, startDelay time.Duration) *Fleet {
	return &Fleet{clk: clk, startDelay: startDelay}
}

// State implements autoscale.Fleet.
func (f *Fleet) State(ctx context.Context) (autoscale.FleetState, error) {
	if err := ctx.Err(); err != nil {
		return autoscale.FleetState{}, fmt.Errorf("memfleet: %w", err)
	}
	now := f.clk.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	s := autoscale.FleetState{Desired: len(f.workers)}
	var sn autoscale.Sensors
	for _, w := range f.workers {
		if w.ReadyAt.After(now) {
			s.Starting++
			continue
		}
		s.Running++
		c := autoscale.WorkerCounters{ID: strconv.Itoa(w.ID), Completed: w.Completed, Succeeded: w.Completed, HandlerTime: w.HandlerTime}
		if w.BusyUntil.After(now) {
			s.Busy++
			c.InFlight = 1
		}
		sn.Workers = append(sn.Workers, c)
	}
	if !f.report {
		s.Busy = 0
		return s, nil
	}
	s.Reporting, s.Sensors = s.Running, &sn
	return s, nil
}

// SetDesired implements autoscale.Fleet: new workers start at once and are
// ready after the start-up delay; removal takes starting workers first
// (newest first), then idle running ones, then busy ones (those that have
// been busy the shortest time first is not known, so the newest).
func (f *Fleet) SetDesired(ctx context.Context, n int) error {
	if n < 0 {
		return fmt.Errorf("memfleet: SetDesired(%d): %w", n, autoscale.ErrInvalidDesired)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memfleet: %w", err)
	}
	now := f.clk.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.workers) < n {
		f.nextID++
		f.workers = append(f.workers, &Worker{ID: f.nextID, ReadyAt: now.Add(f.startDelay)})
	}
	remove := len(f.workers) - n
	if remove <= 0 {
		return nil
	}
	rank := func(w *Worker) int {
		switch {
		case w.ReadyAt.After(now):
			return 0 // starting
		case !w.BusyUntil.After(now):
			return 1 // idle
		}
		return 2 // busy
	}
	for r := 0; r <= 2 && remove > 0; r++ {
		for i := len(f.workers) - 1; i >= 0 && remove > 0; i-- {
			if rank(f.workers[i]) == r {
				f.workers = append(f.workers[:i], f.workers[i+1:]...)
				remove--
			}
		}
	}
	return nil
}

// Range calls fn for every worker in creation order, under the fleet's lock,
// until fn returns false. fn may change BusyUntil and must not call the
// fleet.
func (f *Fleet) Range(fn func(w *Worker) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.workers {
		if !fn(w) {
			return
		}
	}
}
