package localfleet

import (
	"time"

	"github.com/qscale/qscale/worker/workerstatus"
)

// WorkerState is a worker's state as the fleet reports it.
type WorkerState string

const (
	// StateStarting: spawned, its status endpoint has not answered yet.
	StateStarting WorkerState = "starting"
	// StateRestarting: its process died; it is replaced after the restart
	// backoff. Counts as starting.
	StateRestarting WorkerState = "restarting"
	// StateIdle and StateBusy: running, holding no message or at least one
	// (from the worker's status file).
	StateIdle WorkerState = "idle"
	StateBusy WorkerState = "busy"
	// StateDraining: removed by scale-in, or the fleet is stopping; it
	// finishes what it holds and exits. Counts in neither Running nor
	// Starting.
	StateDraining WorkerState = "draining"
)

// WorkerInfo describes one worker, for the dashboard and metrics.
type WorkerInfo struct {
	ID  string `json:"id"`
	PID int    `json:"pid"` // 0 while restarting
	// State; Since is when it last changed (for idle and busy, the
	// worker's own report).
	State WorkerState `json:"state"`
	Since time.Time   `json:"since"`
	// StartedAt is when the current process was spawned; StartupTime how
	// long it took to become ready (0 while starting).
	StartedAt   time.Time     `json:"startedAt"`
	StartupTime time.Duration `json:"startupTime,omitempty"`
	// Restarts counts how many times this worker was replaced after dying.
	Restarts int `json:"restarts"`
	// StatusAddr is the host:port of its status endpoint, once known.
	StatusAddr string `json:"statusAddr,omitempty"`
	// InFlight is the messages it holds, from its status file.
	InFlight int `json:"inFlight"`
}

// Stats are the fleet's cumulative counts.
type Stats struct {
	Spawned       int `json:"spawned"`       // processes started
	Ready         int `json:"ready"`         // processes that became ready
	Crashes       int `json:"crashes"`       // unexpected exits, start timeouts included
	StartTimeouts int `json:"startTimeouts"` // workers not ready within StartTimeout
	Drained       int `json:"drained"`       // workers removed by scale-in that have exited
	Killed        int `json:"killed"`        // SIGKILLs sent (start timeouts, Stop's grace ended)
}

// Workers describes every worker, in creation order, draining ones included.
// Idle/busy and in-flight counts come from the workers' status files.
func (f *Fleet) Workers() []WorkerInfo {
	type snap struct {
		info  WorkerInfo
		file  string
		ready bool
	}
	f.mu.Lock()
	snaps := make([]snap, 0, len(f.slots))
	for _, s := range f.slots {
		info := WorkerInfo{
			ID: s.id, PID: s.pid, State: s.state, Since: s.since, StartedAt: s.startedAt,
			StartupTime: s.startup, Restarts: s.restarts, StatusAddr: s.addr,
		}
		if !s.active() {
			info.State = StateDraining
		}
		snaps = append(snaps, snap{info: info, file: s.file, ready: s.ready})
	}
	f.mu.Unlock()
	out := make([]WorkerInfo, len(snaps))
	for i, sn := range snaps {
		info := sn.info
		if sn.ready {
			if doc, err := workerstatus.ReadFile(sn.file); err == nil {
				info.InFlight = doc.InFlight
				if info.State != StateDraining {
					switch doc.State {
					case workerstatus.Busy:
						info.State, info.Since = StateBusy, doc.Since
					case workerstatus.Draining, workerstatus.Stopped:
						info.State, info.Since = StateDraining, doc.Since
					default:
						info.State, info.Since = StateIdle, doc.Since
					}
				}
			} else if info.State != StateDraining {
				info.State = StateIdle
			}
		}
		out[i] = info
	}
	return out
}

// StartupTime is the mean time the last (up to) 10 worker processes took
// from spawn to a ready status endpoint; 0 before the first is ready.
func (f *Fleet) StartupTime() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.startups) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range f.startups {
		sum += d
	}
	return sum / time.Duration(len(f.startups))
}

// Stats returns the fleet's cumulative counts.
func (f *Fleet) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}
