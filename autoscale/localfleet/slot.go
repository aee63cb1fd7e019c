package localfleet

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// slot is one member of the fleet: a worker id and its current process,
// replaced when it dies, until it is removed.
type slot struct {
	id   string
	file string        // status file path
	stop chan struct{} // closed when removed by scale-in (drain)
	kill chan struct{} // closed when the fleet stops (SIGTERM, then SIGKILL)

	// Guarded by Fleet.mu.
	removed   bool // chosen by scale-in
	killing   bool // the fleet is stopping
	proc      *os.Process
	pid       int
	ready     bool
	addr      string
	state     WorkerState
	since     time.Time
	startedAt time.Time
	startup   time.Duration
	restarts  int
}

// active reports whether the slot is a member of the desired count. Called
// with Fleet.mu held.
func (s *slot) active() bool { return !s.removed && !s.killing }

func (f *Fleet) spawnSlotLocked() {
	f.nextID++
	id := "w" + strconv.Itoa(f.nextID)
	s := &slot{
		id:    id,
		file:  filepath.Join(f.statusDir, id+".json"),
		stop:  make(chan struct{}),
		kill:  make(chan struct{}),
		state: StateStarting,
		since: f.clk.Now(),
	}
	f.slots = append(f.slots, s)
	f.wg.Add(1)
	go f.runSlot(s)
}

// runSlot keeps the slot's worker running until it is removed or the fleet
// stops, replacing it after a backoff each time it dies.
func (f *Fleet) runSlot(s *slot) {
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		f.slots = slices.DeleteFunc(f.slots, func(x *slot) bool { return x == s })
		f.mu.Unlock()
		os.Remove(s.file)
	}()
	delay := f.opts.RestartBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			f.mu.Lock()
			s.state, s.since, s.pid, s.proc, s.ready, s.addr = StateRestarting, f.clk.Now(), 0, nil, false, ""
			f.mu.Unlock()
			t := f.clk.NewTimer(delay)
			select {
			case <-t.C():
			case <-s.stop:
				t.Stop()
				return
			case <-s.kill:
				t.Stop()
				return
			}
		}
		r := f.runProcess(s)
		if r.expected {
			return
		}
		f.mu.Lock()
		f.stats.Crashes++
		s.restarts++
		f.mu.Unlock()
		if r.ready && r.ranFor >= f.opts.MaxRestartBackoff {
			delay = f.opts.RestartBackoff
		} else if attempt > 0 {
			delay = min(2*delay, f.opts.MaxRestartBackoff)
		}
		f.log.Warn("worker died; replacing it", "id", s.id, "pid", r.pid, "exit", r.exit, "ran", r.ranFor, "restart_in", delay)
	}
}

type runResult struct {
	expected bool // it was asked to stop
	ready    bool
	pid      int
	exit     string
	ranFor   time.Duration
}
