// Package localfleet is the autoscale.Fleet of `qscale up`: N `qscale
// worker` processes on this machine, kept at the desired count the way an
// ECS service keeps its tasks.
//
//   - A worker is Starting from spawn until its status endpoint answers (the
//     fleet learns the port from the status file the worker writes), then
//     Running. The time between the two is measured (StartupTime).
//   - A worker that dies without being asked to is replaced, after a restart
//     backoff that doubles with each consecutive crash.
//   - Scale-in removes workers still starting first, then idle workers (read
//     fresh from GET /status at decision time, idle longest first), busy
//     ones last. A removed worker that has a status endpoint is drained
//     (POST /drain: it stops receiving at once, finishes what it holds
//     however long that takes, and exits 0); it is never killed. One that
//     is not ready yet gets SIGTERM.
//   - Stop gives every worker SIGTERM (the worker's graceful stop: finish
//     held messages within its --grace, release the rest), waits StopGrace,
//     then SIGKILLs what is left, and returns once every process is reaped.
//
// Each worker's process is its own process-group leader (so a Ctrl-C at the
// terminal reaches the fleet, which stops the workers in order, rather than
// every worker at once) and gets SIGTERM if the fleet's process dies
// (Linux's parent-death signal).
package localfleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/lifeline"
)

// Errors returned (wrapped) by the fleet.
var (
	// ErrNotStarted: SetDesired was called before Start.
	ErrNotStarted = errors.New("local fleet not started")
	// ErrStopped: the fleet has been stopped.
	ErrStopped = errors.New("local fleet stopped")
)

// Options configure a Fleet. Command is required; every other field has a
// default.
type Options struct {
	// Command is the argv of one worker, e.g.
	//	["/usr/local/bin/qscale", "worker", "--queue-url", URL, "--", "handler", "arg"]
	// The fleet inserts StatusArgs right after its first "worker" element
	// (after Command[0] when there is none).
	Command []string
	// StatusArgs returns the arguments that make the worker serve its status
	// endpoint and keep its status document (docs/worker.md) in statusFile.
	// Default DefaultStatusArgs, for qscale workers:
	//	--status-addr=127.0.0.1:0 --status-file=<statusFile>
	// A worker that is not qscale's may return nil and read the file's path
	// from its environment (QSCALE_STATUS_FILE); it must write the document
	// with at least "status_addr" and serve GET /healthz, GET /status and
	// POST /drain there.
	StatusArgs func(statusFile string) []string
	// Env is added to this process's environment for every worker, which
	// also gets QSCALE_WORKER_ID (its id) and QSCALE_STATUS_FILE.
	Env []string
	// Dir is the workers' working directory; default this process's.
	Dir string
	// StatusDir holds the status files (<id>.json). Default: a new
	// temporary directory, removed by Stop.
	StatusDir string
	// Clock is the time source of every timer of the fleet; default
	// clock.Real.
	Clock clock.Clock
	// Logger receives the fleet's own events (spawn, ready, crash,
	// replacement, drain, kill); default: discarded.
	Logger *slog.Logger
	// Stdout and Stderr receive the workers' output, each line prefixed
	// with the worker's id ("[w3] ..."); nil discards it. They may be the
	// same writer: the fleet writes whole lines, one write at a time.
	Stdout, Stderr io.Writer
	// MaxWorkers bounds SetDesired (larger counts fail with
	// autoscale.ErrInvalidDesired); default 64. Workers that are draining
	// after a scale-in do not count.
	MaxWorkers int
	// StartTimeout is how long a worker may take to become ready before it
	// is stopped (SIGTERM, then SIGKILL after StopGrace) and replaced;
	// default 60s.
	StartTimeout time.Duration
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL;
	// default 40s. Keep it above the workers' own --grace (30s by default)
	// so that a worker releases what it cannot finish before it is killed.
	StopGrace time.Duration
	// RestartBackoff is the wait before a crashed worker is replaced; it
	// doubles with each consecutive crash up to MaxRestartBackoff and goes
	// back to RestartBackoff once a worker has run MaxRestartBackoff.
	// Defaults 1s and 30s.
	RestartBackoff, MaxRestartBackoff time.Duration
	// PollInterval is how often a starting worker's status file is read;
	// default 50ms.
	PollInterval time.Duration
	// StatusTimeout bounds each request to a worker's status endpoint;
	// default 2s.
	StatusTimeout time.Duration
}

// DefaultStatusArgs is the default Options.StatusArgs, for `qscale worker`.
func DefaultStatusArgs(statusFile string) []string {
	return []string{"--status-addr=127.0.0.1:0", "--status-file=" + statusFile}
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Command) == 0 || o.Command[0] == "" {
		return o, errors.New("localfleet: Options.Command is required (the worker's argv)")
	}
	if o.StatusArgs == nil {
		o.StatusArgs = DefaultStatusArgs
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, name string, v time.Duration) error {
		switch {
		case *d < 0:
			return fmt.Errorf("localfleet: Options.%s %v must not be negative", name, *d)
		case *d == 0:
			*d = v
		}
		return nil
	}
	for _, e := range []error{
		def(&o.StartTimeout, "StartTimeout", 60*time.Second),
		def(&o.StopGrace, "StopGrace", 40*time.Second),
		def(&o.RestartBackoff, "RestartBackoff", time.Second),
		def(&o.MaxRestartBackoff, "MaxRestartBackoff", 30*time.Second),
		def(&o.PollInterval, "PollInterval", 50*time.Millisecond),
		def(&o.StatusTimeout, "StatusTimeout", 2*time.Second),
	} {
		if e != nil {
			return o, e
		}
	}
	if o.MaxRestartBackoff < o.RestartBackoff {
		return o, fmt.Errorf("localfleet: Options.MaxRestartBackoff %v is below RestartBackoff %v", o.MaxRestartBackoff, o.RestartBackoff)
	}
	switch {
	case o.MaxWorkers < 0:
		return o, fmt.Errorf("localfleet: Options.MaxWorkers %d must not be negative", o.MaxWorkers)
	case o.MaxWorkers == 0:
		o.MaxWorkers = 64
	}
	return o, nil
}

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

// startupSamples is how many start-ups StartupTime averages.
const startupSamples = 10

// Fleet is a local process fleet. It is safe for concurrent use.
//
// Lock order: setMu, then mu. Nothing does I/O while holding mu.
type Fleet struct {
	opts   Options
	clk    clock.Clock
	log    *slog.Logger
	client *http.Client
	stdout *lineWriters
	stderr *lineWriters

	setMu sync.Mutex // serialises SetDesired (held across status reads)

	mu        sync.Mutex // guards the fields below and every slot's fields marked "guarded by Fleet.mu"
	started   bool
	stopping  bool
	desired   int
	slots     []*slot // creation order; includes draining ones until they exit
	nextID    int
	startups  []time.Duration // the last startupSamples start-up times
	stats     Stats
	statusDir string
	ownDir    bool
	baseCtx   context.Context // Start's context without its cancellation: the slots' requests
	stopCh    chan struct{}   // closed when stopping begins
	doneCh    chan struct{}   // closed when every slot goroutine has returned after stopping began

	wg sync.WaitGroup // slot goroutines
}

var _ autoscale.Fleet = (*Fleet)(nil)

// New validates opts and returns a stopped, empty fleet; call Start.
func New(opts Options) (*Fleet, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	// A relative path with a directory is looked up from Dir when the
	// worker starts; anything else is checked now.
	if name := o.Command[0]; o.Dir == "" || filepath.IsAbs(name) || !strings.Contains(name, "/") {
		if _, err := exec.LookPath(name); err != nil {
			return nil, fmt.Errorf("localfleet: Options.Command: %w", err)
		}
	}
	f := &Fleet{
		opts: o,
		clk:  o.Clock,
		log:  o.Logger,
		// No keep-alives: status requests are rare and a worker's
		// connection must not outlive it.
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}},
		stopCh: make(chan struct{}),
		doneCh: make(chan struct{}),
	}
	outMu := new(sync.Mutex)
	f.stdout = newLineWriters(outMu, o.Stdout)
	f.stderr = newLineWriters(outMu, o.Stderr)
	return f, nil
}

// Start prepares the status directory and lets SetDesired spawn workers. It
// returns at once. When ctx ends the fleet stops as Stop would; call Stop to
// wait for that.
func (f *Fleet) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return fmt.Errorf("localfleet: Start: %w", ErrStopped)
	}
	if f.started {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localfleet: Start: %w", err)
	}
	dir := f.opts.StatusDir
	if dir == "" {
		d, err := os.MkdirTemp("", "qscale-fleet-")
		if err != nil {
			return fmt.Errorf("localfleet: status directory: %w", err)
		}
		dir, f.ownDir = d, true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("localfleet: status directory: %w", err)
	}
	f.statusDir = dir
	f.baseCtx = context.WithoutCancel(ctx)
	f.started = true
	go func() {
		select {
		case <-ctx.Done():
			f.beginStop()
		case <-f.stopCh:
		}
	}()
	return nil
}

// Stop stops every worker: SIGTERM (the worker's graceful stop), SIGKILL to
// those still running StopGrace later, and returns once every process has
// exited and been reaped. When ctx ends first, the rest are SIGKILLed at
// once and Stop returns ctx's error after reaping them. Idempotent (a second
// call with an ended ctx turns a graceful stop into an immediate one); once
// stopping, State reports Desired 0 and SetDesired fails with ErrStopped.
func (f *Fleet) Stop(ctx context.Context) error {
	f.beginStop()
	var err error
	select {
	case <-f.doneCh:
	case <-ctx.Done():
		f.mu.Lock()
		for _, s := range f.slots {
			f.killLocked(s, "stop deadline")
		}
		f.mu.Unlock()
		<-f.doneCh
		err = fmt.Errorf("localfleet: Stop: %w", ctx.Err())
	}
	f.client.CloseIdleConnections()
	return err
}

func (f *Fleet) beginStop() {
	f.mu.Lock()
	if f.stopping {
		f.mu.Unlock()
		return
	}
	f.stopping = true
	f.desired = 0
	close(f.stopCh)
	n := 0
	for _, s := range f.slots {
		if !s.killing {
			s.killing = true
			close(s.kill)
		}
		n++
	}
	started, dir, own := f.started, f.statusDir, f.ownDir
	f.mu.Unlock()
	if n > 0 {
		f.log.Info("stopping local fleet", "workers", n)
	}
	go func() {
		f.wg.Wait()
		if started && own {
			os.RemoveAll(dir)
		}
		close(f.doneCh)
	}()
}

// State implements autoscale.Fleet.
func (f *Fleet) State(ctx context.Context) (autoscale.FleetState, error) {
	if err := ctx.Err(); err != nil {
		return autoscale.FleetState{}, fmt.Errorf("localfleet: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := autoscale.FleetState{Desired: f.desired}
	for _, s := range f.slots {
		switch {
		case !s.active():
		case s.ready:
			st.Running++
		default:
			st.Starting++
		}
	}
	return st, nil
}

// SetDesired implements autoscale.Fleet. Scale-out spawns workers at once;
// scale-in reads every running worker's /status (when workers still starting
// are not enough) and drains the chosen ones. It returns without waiting for
// workers to start or exit.
func (f *Fleet) SetDesired(ctx context.Context, n int) error {
	if n < 0 || n > f.opts.MaxWorkers {
		return fmt.Errorf("localfleet: SetDesired(%d): %w (0..%d)", n, autoscale.ErrInvalidDesired, f.opts.MaxWorkers)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localfleet: %w", err)
	}
	f.setMu.Lock()
	defer f.setMu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localfleet: %w", err)
	}

	f.mu.Lock()
	if err := f.usableLocked(); err != nil {
		f.mu.Unlock()
		return err
	}
	var active []*slot
	for _, s := range f.slots {
		if s.active() {
			active = append(active, s)
		}
	}
	if len(active) <= n {
		f.desired = n
		for range n - len(active) {
			f.spawnSlotLocked()
		}
		f.mu.Unlock()
		return nil
	}
	excess := len(active) - n
	// Workers not ready yet go first, the newest first; then running ones.
	var victims, running []*slot
	for i := len(active) - 1; i >= 0; i-- {
		if s := active[i]; !s.ready && len(victims) < excess {
			victims = append(victims, s)
		} else if s.ready {
			running = append(running, s)
		}
	}
	f.mu.Unlock()

	var ranked []rankedSlot
	if len(victims) < excess {
		var err error
		if ranked, err = f.rank(ctx, running); err != nil {
			return err
		}
		for _, r := range ranked[:excess-len(victims)] {
			victims = append(victims, r.s)
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usableLocked(); err != nil {
		return err
	}
	f.desired = n
	for _, s := range victims {
		if !s.active() {
			continue // exited on its own meanwhile, or stopping
		}
		s.removed = true
		close(s.stop)
	}
	if len(ranked) > 0 {
		f.log.Info("scaling in", "desired", n, "victims", victimIDs(victims), "ranking", rankingSummary(ranked))
	} else {
		f.log.Info("scaling in", "desired", n, "victims", victimIDs(victims))
	}
	return nil
}

func (f *Fleet) usableLocked() error {
	switch {
	case f.stopping:
		return fmt.Errorf("localfleet: %w", ErrStopped)
	case !f.started:
		return fmt.Errorf("localfleet: %w", ErrNotStarted)
	}
	return nil
}

// rankedSlot is a running worker and what its /status said.
type rankedSlot struct {
	s     *slot
	class int // 0 idle, 1 status unknown, 2 busy
	doc   statusDoc
}

// rank reads /status of every running worker at once and orders them for
// removal: idle (longest idle first), those whose status did not answer,
// busy (fewest held messages first, then busy longest).
func (f *Fleet) rank(ctx context.Context, running []*slot) ([]rankedSlot, error) {
	out := make([]rankedSlot, len(running))
	var wg sync.WaitGroup
	for i, s := range running {
		f.mu.Lock()
		addr := s.addr
		f.mu.Unlock()
		wg.Go(func() {
			doc, err := f.getStatus(ctx, addr)
			r := rankedSlot{s: s, class: 1, doc: doc}
			if err == nil {
				switch doc.State {
				case "idle":
					r.class = 0
				case "busy":
					r.class = 2
				}
			}
			out[i] = r
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localfleet: reading worker status: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.class != b.class {
			return a.class < b.class
		}
		if a.class == 2 && a.doc.InFlight != b.doc.InFlight {
			return a.doc.InFlight < b.doc.InFlight
		}
		return a.doc.Since.Before(b.doc.Since)
	})
	return out, nil
}

func victimIDs(v []*slot) []string {
	ids := make([]string, len(v))
	for i, s := range v {
		ids[i] = s.id
	}
	return ids
}

func rankingSummary(r []rankedSlot) []string {
	out := make([]string, len(r))
	for i, x := range r {
		st := x.doc.State
		if x.class == 1 {
			st = "unknown"
		}
		out[i] = x.s.id + "=" + st
	}
	return out
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
			if doc, err := readStatusFile(sn.file); err == nil {
				info.InFlight = doc.InFlight
				if info.State != StateDraining {
					switch doc.State {
					case "busy":
						info.State, info.Since = StateBusy, doc.Since
					case "draining", "stopped":
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

// killLocked SIGKILLs the slot's process, if any.
func (f *Fleet) killLocked(s *slot, why string) {
	if s.proc == nil {
		return
	}
	if err := signalGroup(s.proc, syscall.SIGKILL); err == nil {
		f.stats.Killed++
		f.log.Warn("worker killed", "id", s.id, "pid", s.pid, "why", why)
	}
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

// argv is Command with StatusArgs inserted after its first "worker".
func (f *Fleet) argv(statusFile string) []string {
	cmd := f.opts.Command
	at := slices.Index(cmd, "worker")
	if at < 0 {
		at = 0
	}
	argv := slices.Clone(cmd[:at+1])
	argv = append(argv, f.opts.StatusArgs(statusFile)...)
	return append(argv, cmd[at+1:]...)
}

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
	flush := func() {
		if outW != nil {
			outW.flush()
		}
		if errW != nil {
			errW.flush()
		}
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
	// Its own process group; on Linux it gets SIGTERM (its graceful stop)
	// should the fleet's process die without stopping it.
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

	poll := f.clk.NewTimer(f.opts.PollInterval)
	startTO := f.clk.NewTimer(f.opts.StartTimeout)
	var grace clock.Timer
	stopC, killC := s.stop, s.kill
	var pollC, startC, graceC <-chan time.Time = poll.C(), startTO.C(), nil
	ready := false
	var readyAt time.Time
	// armGrace sets the SIGKILL deadline StopGrace from now; a deadline
	// already set stays unless restart.
	armGrace := func(restart bool) {
		if grace != nil && !restart {
			return
		}
		if grace != nil {
			grace.Stop()
		}
		grace = f.clk.NewTimer(f.opts.StopGrace)
		graceC = grace.C()
	}
	markReady := func(addr string) {
		ready, readyAt = true, f.clk.Now()
		pollC = nil
		startTO.Stop()
		startC = nil
		d := readyAt.Sub(spawnAt)
		f.mu.Lock()
		s.ready, s.addr, s.startup = true, addr, d
		if s.active() {
			s.state, s.since = StateIdle, readyAt
		}
		f.stats.Ready++
		f.startups = append(f.startups, d)
		if len(f.startups) > startupSamples {
			f.startups = f.startups[1:]
		}
		f.mu.Unlock()
		f.log.Info("worker ready", "id", s.id, "pid", pid, "status_addr", addr, "startup", d)
	}
	signal := func(sig syscall.Signal) {
		if err := signalGroup(cmd.Process, sig); err != nil {
			f.log.Warn("signalling worker", "id", s.id, "pid", pid, "signal", sig.String(), "err", err)
		}
	}
	defer func() {
		poll.Stop()
		startTO.Stop()
		if grace != nil {
			grace.Stop()
		}
	}()

	for {
		select {
		case werr := <-exited:
			flush()
			// What the worker left in its process group (a wrapper's
			// children) goes with it, as a task's processes do.
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			f.mu.Lock()
			expected := !s.active() // a start timeout is not: it is replaced
			if s.removed && !s.killing {
				f.stats.Drained++
			}
			s.proc = nil
			f.mu.Unlock()
			r := runResult{expected: expected, ready: ready, pid: pid, exit: exitString(werr)}
			if ready {
				r.ranFor = f.clk.Now().Sub(readyAt)
			}
			if werr != nil && expected {
				f.log.Warn("worker exited", "id", s.id, "pid", pid, "exit", r.exit)
			} else if expected {
				f.log.Info("worker exited", "id", s.id, "pid", pid, "exit", r.exit)
			}
			return r

		case <-pollC:
			pollC = nil
			addr, ok := f.probe(s.file)
			if !ok {
				poll = f.clk.NewTimer(f.opts.PollInterval)
				pollC = poll.C()
				continue
			}
			markReady(addr)
			if stopC == nil && killC != nil {
				// Removed while starting (SIGTERM already sent): its
				// graceful stop is under way; never SIGKILL it now.
				graceC = nil
			}

		case <-startC:
			startC = nil
			pollC = nil
			f.mu.Lock()
			f.stats.StartTimeouts++
			f.mu.Unlock()
			f.log.Warn("worker not ready in time; stopping it", "id", s.id, "pid", pid, "start_timeout", f.opts.StartTimeout)
			signal(syscall.SIGTERM)
			armGrace(false)

		case <-stopC: // scale-in
			stopC = nil
			f.mu.Lock()
			s.state, s.since = StateDraining, f.clk.Now()
			addr := s.addr
			f.mu.Unlock()
			if !ready {
				// It may have become ready since the last poll (and be
				// receiving): look once more before choosing SIGTERM.
				if a, ok := f.probe(s.file); ok {
					markReady(a)
					addr = a
				}
			}
			if ready {
				f.drain(s.id, pid, addr, signal)
				continue
			}
			f.log.Info("stopping a worker that is still starting", "id", s.id, "pid", pid)
			signal(syscall.SIGTERM)
			armGrace(false)

		case <-killC: // fleet stop
			killC, stopC = nil, nil
			f.mu.Lock()
			s.state, s.since = StateDraining, f.clk.Now()
			f.mu.Unlock()
			signal(syscall.SIGTERM)
			armGrace(true) // StopGrace from now, even if a scale-in armed or disarmed one

		case <-graceC:
			graceC = nil
			f.mu.Lock()
			f.killLocked(s, "still running "+f.opts.StopGrace.String()+" after SIGTERM")
			f.mu.Unlock()
		}
	}
}

// drain asks a ready worker to stop receiving and finish what it holds; if
// its endpoint does not answer, SIGTERM does the same within the worker's
// --grace.
func (f *Fleet) drain(id string, pid int, addr string, signal func(syscall.Signal)) {
	doc, err := f.postDrain(f.baseCtx, addr)
	if err != nil {
		f.log.Warn("drain request failed; sending SIGTERM", "id", id, "pid", pid, "err", err)
		signal(syscall.SIGTERM)
		return
	}
	if doc.InFlight > 0 {
		// It took messages after the status read that chose it: it
		// finishes them before it exits.
		f.log.Info("worker draining with messages in hand", "id", id, "pid", pid, "in_flight", doc.InFlight)
		return
	}
	f.log.Info("worker draining", "id", id, "pid", pid)
}

// probe reports whether a starting worker is ready: its status file names
// its address and GET /healthz there answers 200.
func (f *Fleet) probe(file string) (string, bool) {
	doc, err := readStatusFile(file)
	if err != nil || doc.StatusAddr == "" || doc.State == "stopped" {
		return "", false
	}
	ctx, cancel := context.WithTimeout(f.baseCtx, f.opts.StatusTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+doc.StatusAddr+"/healthz", nil)
	if err != nil {
		return "", false
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return "", false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return doc.StatusAddr, resp.StatusCode == http.StatusOK
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// statusDoc is the part of the worker's status document (docs/worker.md,
// version 1) the fleet reads.
type statusDoc struct {
	State      string    `json:"state"`
	Since      time.Time `json:"since"`
	InFlight   int       `json:"in_flight"`
	PID        int       `json:"pid"`
	StatusAddr string    `json:"status_addr"`
}

func readStatusFile(path string) (statusDoc, error) {
	var doc statusDoc
	b, err := os.ReadFile(path)
	if err != nil {
		return doc, err
	}
	err = json.Unmarshal(b, &doc)
	return doc, err
}

func (f *Fleet) getStatus(ctx context.Context, addr string) (statusDoc, error) {
	return f.statusRequest(ctx, http.MethodGet, addr, "/status", http.StatusOK)
}

func (f *Fleet) postDrain(ctx context.Context, addr string) (statusDoc, error) {
	return f.statusRequest(ctx, http.MethodPost, addr, "/drain", http.StatusAccepted)
}

func (f *Fleet) statusRequest(ctx context.Context, method, addr, path string, want int) (statusDoc, error) {
	var doc statusDoc
	ctx, cancel := context.WithTimeout(ctx, f.opts.StatusTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
	if err != nil {
		return doc, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return doc, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		io.Copy(io.Discard, resp.Body)
		return doc, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return doc, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return doc, nil
}

// signalGroup signals the worker's process group (the worker leads it), so
// that a wrapper (sh -c '... qscale worker') passes the signal on. The
// qscale worker runs its handlers in process groups of their own and stops
// them itself. Once the worker has been reaped nothing is signalled.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	// Signal(0) through the process handle (a pidfd) tells whether the
	// worker has exited, so a reused pid is never signalled.
	if err := p.Signal(syscall.Signal(0)); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return nil
		}
		return err
	}
	if err := syscall.Kill(-p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
