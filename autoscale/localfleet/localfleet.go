// Package localfleet is the autoscale.Fleet of `qscale up`: N `qscale
// worker` processes on this machine, kept at the desired count the way an
// ECS service keeps its tasks.
//
//   - A worker is Starting from spawn until its status endpoint answers (the
//     fleet learns the port from the status file the worker writes), then
//     Running. The time between the two is measured (StartupTime).
//   - A worker that dies without being asked to is replaced, after a restart
//     backoff that doubles with each consecutive crash.
//   - Scale-in removes workers in workerstatus.Order, the order every qscale
//     fleet follows: workers still starting first, then leaving and idle
//     workers (read fresh from GET /status at decision time, idle longest
//     first), those whose status is unknown, busy ones last. A removed worker that has a status endpoint is drained
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
//
// Files by job: localfleet.go the fleet and its lifecycle (New, Start,
// Stop, State); options.go its options; scalein.go SetDesired and the
// choice of victims; slot.go a fleet member and its restart backoff;
// process.go one worker process's control loop; health.go readiness,
// status reads and drains; spawn.go starting and signalling processes;
// workers.go what the fleet reports (Workers, Stats, StartupTime).
package localfleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker/workerstatus"
)

// Errors returned (wrapped) by the fleet.
var (
	// ErrNotStarted: SetDesired was called before Start.
	ErrNotStarted = errors.New("local fleet not started")
	// ErrStopped: the fleet has been stopped.
	ErrStopped = errors.New("local fleet stopped")
)

// startupSamples is how many start-ups StartupTime averages.
const startupSamples = 10

// Fleet is a local process fleet. It is safe for concurrent use.
//
// Lock order: setMu, then mu. Nothing does I/O while holding mu.
type Fleet struct {
	opts   Options
	clk    clock.Clock
	log    *slog.Logger
	status workerstatus.Client // every request to a worker
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
		// No keep-alives (workerstatus.Client's default): status requests
		// are rare and a worker's connection must not outlive it.
		status: workerstatus.Client{Timeout: o.StatusTimeout},
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
	st := autoscale.FleetState{Desired: f.desired}
	var active []*slot
	for _, s := range f.slots {
		switch {
		case !s.active():
			continue
		case s.ready:
			st.Running++
		default:
			st.Starting++
		}
		active = append(active, s)
	}
	cands, addrs, _ := candidatesLocked(active)
	f.mu.Unlock()
	// The workers' status documents give the busy count and the counters
	// the controller learns from.
	if err := workerstatus.ReadAll(ctx, cands, len(cands), func(ctx context.Context, i int) (workerstatus.Report, error) {
		return f.readStatus(ctx, addrs[i])
	}); err != nil {
		return autoscale.FleetState{}, fmt.Errorf("localfleet: reading worker status: %w", err)
	}
	autoscale.WorkersFromCandidates(&st, cands)
	return st, nil
}
