package localfleet

import (
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/lifeline"
)

// runProcess runs one process of the slot until it exits, and reaps it.
func (f *Fleet) runProcess(s *slot) runResult {
	os.Remove(s.file) // never read a previous process's address
	argv := f.argv(s.file)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = f.opts.Dir
	cmd.Env = append(os.Environ(), f.opts.Env...)
	cmd.Env = append(cmd.Env, "QSCALE_WORKER_ID="+s.id, "QSCALE_STATUS_FILE="+s.file)
	// Handlers the worker started may hold its output open after it exits.
	cmd.WaitDelay = 2 * time.Second
	prefix := "[" + s.id + "] "
	outW, errW := f.stdout.forWorker(prefix), f.stderr.forWorker(prefix)
	if outW != nil {
		cmd.Stdout = outW
	}
	if errW != nil {
		cmd.Stderr = errW
	}

	f.mu.Lock()
	active := s.active()
	f.mu.Unlock()
	if !active { // removed or stopping during the backoff's last instant
		return runResult{expected: true}
	}
	// Stopping may begin from here on: s.kill is closed then, and the loop
	// below sees it.
	spawnAt := f.clk.Now()
	if err := lifeline.Start(cmd, syscall.SIGTERM); err != nil {
		f.log.Error("starting worker", "id", s.id, "err", err)
		return runResult{exit: err.Error()}
	}
	f.mu.Lock()
	f.stats.Spawned++
	s.proc, s.pid, s.ready, s.addr = cmd.Process, cmd.Process.Pid, false, ""
	s.state, s.since, s.startedAt, s.startup = StateStarting, spawnAt, spawnAt, 0
	pid := s.pid
	f.mu.Unlock()
	f.log.Info("worker spawned", "id", s.id, "pid", pid)

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	p := &proc{
		f: f, s: s, cmd: cmd, pid: pid, spawnAt: spawnAt, outW: outW, errW: errW,
		poll:    f.clk.NewTimer(f.opts.PollInterval),
		startTO: f.clk.NewTimer(f.opts.StartTimeout),
		stopC:   s.stop,
		killC:   s.kill,
	}
	p.pollC, p.startC = p.poll.C(), p.startTO.C()
	defer p.stopTimers()
	for {
		select {
		case werr := <-exited:
			return p.exited(werr)
		case <-p.pollC:
			p.pollTick()
		case <-p.startC:
			p.startTimedOut()
		case <-p.stopC:
			p.scaledIn()
		case <-p.killC:
			p.fleetStopping()
		case <-p.graceC:
			p.graceEnded()
		}
	}
}

// proc is the state of one running worker process, owned by the goroutine
// of runProcess: each event of its loop is one method. A nil channel is an
// event that can no longer happen.
type proc struct {
	f          *Fleet
	s          *slot
	cmd        *exec.Cmd
	pid        int
	spawnAt    time.Time
	outW, errW *lineWriter

	poll, startTO, grace clock.Timer
	// pollC: time to read the status file again (while starting);
	// startC: StartTimeout ended; graceC: StopGrace after SIGTERM ended;
	// stopC: removed by scale-in; killC: the fleet stops.
	pollC, startC, graceC <-chan time.Time
	stopC, killC          <-chan struct{}

	ready   bool
	readyAt time.Time
}

func (p *proc) stopTimers() {
	p.poll.Stop()
	p.startTO.Stop()
	if p.grace != nil {
		p.grace.Stop()
	}
}

// exited reaps the process: what it left in its process group goes too.
func (p *proc) exited(werr error) runResult {
	f, s := p.f, p.s
	if p.outW != nil {
		p.outW.flush()
	}
	if p.errW != nil {
		p.errW.flush()
	}
	// What the worker left in its process group (a wrapper's children)
	// goes with it, as a task's processes do.
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	f.mu.Lock()
	expected := !s.active() // a start timeout is not: it is replaced
	if s.removed && !s.killing {
		f.stats.Drained++
	}
	s.proc = nil
	f.mu.Unlock()
	r := runResult{expected: expected, ready: p.ready, pid: p.pid, exit: exitString(werr)}
	if p.ready {
		r.ranFor = f.clk.Now().Sub(p.readyAt)
	}
	if werr != nil && expected {
		f.log.Warn("worker exited", "id", s.id, "pid", p.pid, "exit", r.exit)
	} else if expected {
		f.log.Info("worker exited", "id", s.id, "pid", p.pid, "exit", r.exit)
	}
	return r
}

// pollTick reads a starting worker's status file; ready, or poll again.
func (p *proc) pollTick() {
	p.pollC = nil
	addr, ok := p.f.probe(p.s.file)
	if !ok {
		p.poll = p.f.clk.NewTimer(p.f.opts.PollInterval)
		p.pollC = p.poll.C()
		return
	}
	p.markReady(addr)
	if p.stopC == nil && p.killC != nil {
		// Removed while starting (SIGTERM already sent): its graceful
		// stop is under way; never SIGKILL it now.
		p.graceC = nil
	}
}

// startTimedOut stops a worker not ready within StartTimeout; it is
// replaced when it has exited.
func (p *proc) startTimedOut() {
	f := p.f
	p.startC, p.pollC = nil, nil
	f.mu.Lock()
	f.stats.StartTimeouts++
	f.mu.Unlock()
	f.log.Warn("worker not ready in time; stopping it", "id", p.s.id, "pid", p.pid, "start_timeout", f.opts.StartTimeout)
	p.signal(syscall.SIGTERM)
	p.armGrace(false)
}

// scaledIn removes the worker: a ready one drains, one still starting
// gets SIGTERM.
func (p *proc) scaledIn() {
	f, s := p.f, p.s
	p.stopC = nil
	f.mu.Lock()
	s.state, s.since = StateDraining, f.clk.Now()
	addr := s.addr
	f.mu.Unlock()
	if !p.ready {
		// It may have become ready since the last poll (and be
		// receiving): look once more before choosing SIGTERM.
		if a, ok := f.probe(s.file); ok {
			p.markReady(a)
			addr = a
		}
	}
	if p.ready {
		f.drain(s.id, p.pid, addr, p.signal)
		return
	}
	f.log.Info("stopping a worker that is still starting", "id", s.id, "pid", p.pid)
	p.signal(syscall.SIGTERM)
	p.armGrace(false)
}

// fleetStopping gives the worker SIGTERM and StopGrace from now, even if a
// scale-in armed or disarmed a deadline.
func (p *proc) fleetStopping() {
	f := p.f
	p.killC, p.stopC = nil, nil
	f.mu.Lock()
	p.s.state, p.s.since = StateDraining, f.clk.Now()
	f.mu.Unlock()
	p.signal(syscall.SIGTERM)
	p.armGrace(true)
}

// graceEnded SIGKILLs a worker still running StopGrace after SIGTERM.
func (p *proc) graceEnded() {
	f := p.f
	p.graceC = nil
	f.mu.Lock()
	f.killLocked(p.s, "still running "+f.opts.StopGrace.String()+" after SIGTERM")
	f.mu.Unlock()
}

// armGrace sets the SIGKILL deadline StopGrace from now; a deadline
// already set stays unless restart.
func (p *proc) armGrace(restart bool) {
	if p.grace != nil && !restart {
		return
	}
	if p.grace != nil {
		p.grace.Stop()
	}
	p.grace = p.f.clk.NewTimer(p.f.opts.StopGrace)
	p.graceC = p.grace.C()
}

// markReady records that the worker's status endpoint answers at addr.
func (p *proc) markReady(addr string) {
	f, s := p.f, p.s
	p.ready, p.readyAt = true, f.clk.Now()
	p.pollC = nil
	p.startTO.Stop()
	p.startC = nil
	d := p.readyAt.Sub(p.spawnAt)
	f.mu.Lock()
	s.ready, s.addr, s.startup = true, addr, d
	if s.active() {
		s.state, s.since = StateIdle, p.readyAt
	}
	f.stats.Ready++
	f.startups = append(f.startups, d)
	if len(f.startups) > startupSamples {
		f.startups = f.startups[1:]
	}
	f.mu.Unlock()
	f.log.Info("worker ready", "id", s.id, "pid", p.pid, "status_addr", addr, "startup", d)
}

func (p *proc) signal(sig syscall.Signal) {
	if err := signalGroup(p.cmd.Process, sig); err != nil {
		p.f.log.Warn("signalling worker", "id", p.s.id, "pid", p.pid, "signal", sig.String(), "err", err)
	}
}
