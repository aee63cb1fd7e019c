package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/lifeline"
	"github.com/qscale/qscale/worker/workerstatus"
)

// SupervisorConfig configures a Supervisor.
type SupervisorConfig struct {
	// Command is run with /bin/sh -c, in its own process group.
	Command string
	Env     []string // added to the worker's environment
	Stdout  io.Writer
	Stderr  io.Writer
	// ReadyURL, if set, is polled with GET until it answers 2xx. Otherwise
	// ReadyAddr (host:port) is polled until it accepts a TCP connection.
	ReadyURL  string
	ReadyAddr string
	// ProbeInterval is the time between readiness probes (default 50 ms).
	ProbeInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait before a restart; it doubles
	// after each crash and resets once the application has run for 30 s
	// (defaults 1 s and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// StopTimeout is how long the application has between SIGTERM and
	// SIGKILL on shutdown (default 10 s).
	StopTimeout time.Duration
	Clock       clock.Clock
	Logger      *slog.Logger
}

// Supervisor starts a long-running handler application, waits for it to be
// ready, restarts it with backoff when it dies and stops it on shutdown.
// Should the worker's process die without stopping it, the application's
// process group is stopped too (see docs/worker.md, "When the worker is
// killed"), so it never keeps its port from the next worker's application. Its
// Wait method is a Config.Gate: the worker receives nothing while the
// application is down.
type Supervisor struct {
	cfg SupervisorConfig

	mu       sync.Mutex // guards the fields below
	ready    chan struct{}
	isReady  bool
	pid      int
	restarts int
	since    time.Time
	started  bool

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// AppStatus describes the supervised application, as the status document
// reports it (package workerstatus).
type AppStatus = workerstatus.App

// NewSupervisor returns a Supervisor that has not started.
func NewSupervisor(cfg SupervisorConfig) *Supervisor {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 50 * time.Millisecond
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	return &Supervisor{cfg: cfg, ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
}

// Start starts the application in the background and returns at once.
func (s *Supervisor) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("supervisor: already started")
	}
	if s.cfg.Command == "" {
		return errors.New("supervisor: no command")
	}
	s.started = true
	go s.run(context.WithoutCancel(ctx))
	return nil
}

// Wait returns once the application is ready, or with ctx's error.
func (s *Supervisor) Wait(ctx context.Context) error {
	s.mu.Lock()
	ready := s.ready
	s.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return errors.New("supervisor: stopped")
	}
}

// Stop terminates the application (SIGTERM to its process group, SIGKILL
// after StopTimeout) and waits for it, or for ctx. Idempotent.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status reports the application's state.
func (s *Supervisor) Status() AppStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return AppStatus{PID: s.pid, Ready: s.isReady, Restarts: s.restarts, Since: s.since}
}

func (s *Supervisor) sleep(d time.Duration) bool {
	t := s.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-s.stop:
		return false
	}
}

func (s *Supervisor) run(ctx context.Context) {
	defer close(s.done)
	log := s.cfg.Logger
	backoff := s.cfg.MinBackoff
	for {
		cmd := exec.Command("/bin/sh", "-c", s.cfg.Command)
		cmd.Env = append(os.Environ(), s.cfg.Env...)
		cmd.Stdout, cmd.Stderr = s.cfg.Stdout, s.cfg.Stderr
		// Its own process group, stopped with the worker should the
		// worker die first (kill -9 included): see internal/lifeline.
		if err := lifeline.Start(cmd, syscall.SIGTERM); err != nil {
			log.Error("starting handler application", "err", err, "retry_in", backoff)
			if !s.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, s.cfg.MaxBackoff)
			continue
		}
		release := lifeline.Watch(cmd.Process.Pid)
		start := s.cfg.Clock.Now()
		s.mu.Lock()
		s.pid, s.since = cmd.Process.Pid, start
		s.mu.Unlock()
		log.Info("handler application started", "pid", cmd.Process.Pid)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		var exitErr error
		if ready, err, stopped := s.probe(ctx, exited); stopped {
			s.terminate(cmd, exited)
			release()
			return
		} else if ready {
			s.mu.Lock()
			s.isReady = true
			close(s.ready)
			s.mu.Unlock()
			log.Info("handler application ready", "pid", cmd.Process.Pid)
			select {
			case exitErr = <-exited:
			case <-s.stop:
				s.terminate(cmd, exited)
				release()
				return
			}
		} else {
			exitErr = err
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what it left behind
		release()
		s.mu.Lock()
		if s.isReady {
			s.isReady = false
			s.ready = make(chan struct{})
		}
		s.restarts++
		s.pid = 0
		s.mu.Unlock()
		if s.cfg.Clock.Now().Sub(start) > 30*time.Second {
			backoff = s.cfg.MinBackoff
		}
		log.Warn("handler application exited; restarting", "err", exitErr, "restart_in", backoff)
		if !s.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

// probe polls readiness until the application is ready, exits (its exit
// error is returned) or the supervisor stops.
func (s *Supervisor) probe(ctx context.Context, exited <-chan error) (ready bool, exitErr error, stopped bool) {
	client := &http.Client{Timeout: time.Second}
	for {
		if s.probeOnce(ctx, client) {
			return true, nil, false
		}
		t := s.cfg.Clock.NewTimer(s.cfg.ProbeInterval)
		select {
		case <-t.C():
		case err := <-exited:
			t.Stop()
			if err == nil {
				err = errors.New("exited 0")
			}
			return false, err, false
		case <-s.stop:
			t.Stop()
			return false, nil, true
		}
	}
}

func (s *Supervisor) probeOnce(ctx context.Context, client *http.Client) bool {
	if s.cfg.ReadyURL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.ReadyURL, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode >= 200 && resp.StatusCode <= 299
	}
	if s.cfg.ReadyAddr == "" {
		return true
	}
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", s.cfg.ReadyAddr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (s *Supervisor) terminate(cmd *exec.Cmd, exited <-chan error) {
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	t := s.cfg.Clock.NewTimer(s.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C():
		s.cfg.Logger.Warn("handler application ignored SIGTERM; killing", "pid", pid)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	s.mu.Lock()
	s.isReady, s.pid = false, 0
	s.mu.Unlock()
	s.cfg.Logger.Info("handler application stopped", "pid", pid)
}
