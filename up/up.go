// Package up assembles qscale on one machine, as `qscale up` runs it: the
// embedded queue server, fleets of local `qscale worker` processes, one
// autoscaler per fleet that sizes it from its queues' backlog, and the
// console (a dashboard per fleet, producer endpoint, Prometheus metrics).
//
// Data flow: producers -> queue server -> workers; the engine's counts ->
// EngineSource (queueset.Set for a fleet of several queues) ->
// autoscale.Controller -> local fleet; everything -> console.
package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/fleets"
	"github.com/qscale/qscale/autoscale/learnedfile"
	"github.com/qscale/qscale/autoscale/queueset"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/service"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/server"
)

// Options configure a System.
type Options struct {
	// Config is the file's (package config, validated for config.ForUp).
	Config *config.Config
	// Executable is the qscale binary the workers run; default the running
	// program (os.Executable).
	Executable string
	// Keys are the access keys the server verifies (ID -> secret); the
	// workers sign with one of them. Empty: signatures are not checked.
	Keys map[string]string
	// Logger receives structured logs; default discard.
	Logger *slog.Logger
	// Out receives the narration for a person at the terminal: scaling
	// decisions and progress. nil: none.
	Out io.Writer
	// WorkerOutput receives the workers' own log lines, each prefixed with
	// the worker's id; nil: discarded.
	WorkerOutput io.Writer
	// LogFormat is "text" (default) or "json": the workers qscale up
	// starts log in it too (--log-format), and with "json" every line of
	// WorkerOutput is one JSON object naming its worker.
	LogFormat string
	// Clock is the controller's and the source's; default clock.Real{}.
	Clock clock.Clock
	// WarnAfter is how long the fleet may stay at its maximum while the
	// backlog grows before qscale up warns; default 60 s.
	WarnAfter time.Duration
}

// System is a running qscale up.
type System struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	srv     *server.Server
	runs    []*fleetRun // one per configured fleet, in the file's order
	reg     *prometheus.Registry
	metrics *metrics
	narr    *narrator // lines not about one fleet
	fails   *failureCollector

	console   *http.Server
	consoleLn net.Listener

	// parts stops, in reverse start order, everything Start started.
	parts service.Stack
}

// Start brings everything up in order: the server, the queues, the fleet,
// the autoscaler, then the console. It returns once all of them run; on an
// error, what was started is stopped again.
func Start(ctx context.Context, o Options) (_ *System, err error) {
	if o.Config == nil {
		return nil, errors.New("up: Options.Config is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("up: find the qscale binary for the workers: %w", err)
		}
		o.Executable = exe
	}
	cfg := o.Config
	s := &System{opts: o, cfg: cfg, log: o.Logger, narr: newNarrator(o.Out, 5*time.Second, "")}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = s.Stop(sctx)
		}
	}()

	if err := CheckHandlers(cfg, ""); err != nil {
		// The handler may appear later; until then its failures show.
		o.Logger.Warn("handler command", "err", err)
		s.narr.note(o.Clock.Now(), "WARNING: "+err.Error())
	}
	s.srv, err = server.Start(ctx, server.Config{
		Listen: cfg.Server.Listen, DataDir: cfg.Server.DataDir, InMemory: cfg.Server.InMemory,
		AccountID: cfg.Server.AccountID, Region: cfg.Server.Region, Keys: o.Keys,
		Logger: o.Logger.With("part", "server"),
	})
	if err != nil {
		return nil, fmt.Errorf("queue server: %w", err)
	}
	if err := s.parts.Defer("queue server", s.srv.Stop); err != nil {
		return nil, err
	}
	if err := s.ensureQueues(ctx); err != nil {
		return nil, err
	}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.reg, s.srv.Engine)
	s.fails = newFailureCollector()
	s.reg.MustRegister(s.fails)
	for i := range cfg.Fleets {
		r, err := s.newRun(ctx, i)
		if err != nil {
			return nil, err
		}
		s.runs = append(s.runs, r)
		s.metrics.add(r)
		s.fails.add(r.cfg.Name, r.cfg.QueueLabel(), r.fails)
	}
	// Every fleet starts before any autoscaler, and the autoscalers stop
	// before any fleet: no controller ever sizes a fleet that is stopped.
	for _, r := range s.runs {
		if err := s.parts.Start(ctx, "fleet "+r.cfg.Name, r.fleet); err != nil {
			return nil, err
		}
	}
	for _, r := range s.runs {
		// Registered before the autoscaler, so written after it stopped.
		if err := s.parts.Defer("learned times of "+r.cfg.Name, func(context.Context) error {
			return learnedfile.Save(r.learned.Path(), r.ctrl.Learned())
		}); err != nil {
			return nil, err
		}
		if err := s.parts.Start(ctx, "autoscaler "+r.cfg.Name, r.ctrl); err != nil {
			return nil, err
		}
	}
	if cfg.Console.Listen != "off" {
		if err := s.startConsole(ctx); err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
	}
	return s, nil
}

// ensureQueues creates the configured queues, or sets the attributes and
// tags of those that exist (server.EnsureQueues, as qscale server --queues).
func (s *System) ensureQueues(ctx context.Context) error {
	return server.EnsureQueues(ctx, s.srv.Engine, s.cfg.Queues)
}

// fleetRun is one fleet's parts: its queues' source, the fleet and its
// controller, each with its own policies, decisions, guardrails and busy
// floor.
type fleetRun struct {
	cfg     config.Fleet
	path    string // fleets[i]
	source  autoscale.QueueSource
	fleet   *fleets.Fleet
	ctrl    *autoscale.Controller
	narr    *narrator
	fails   *failureWatch
	learned *learnedfile.Keeper
}

// newRun builds (and does not start) the i-th fleet and its controller.
func (s *System) newRun(ctx context.Context, i int) (*fleetRun, error) {
	fc := s.cfg.Fleets[i]
	r := &fleetRun{cfg: fc, path: fmt.Sprintf("fleets[%d]", i)}
	var members []queueset.Member
	var qs []*queue.Queue
	for _, name := range fc.QueueNames() {
		q, err := s.srv.Engine.Queue(name)
		if err != nil {
			return nil, fmt.Errorf("%s: queue %q: %w", r.path, name, err)
		}
		qs = append(qs, q)
		members = append(members, queueset.Member{Name: name, Source: NewEngineSource(q, s.opts.Clock, 0)})
	}
	r.fails = newFailureWatch(s.srv.Engine, qs, fc.MaxCapacity, s.opts.WarnAfter, s.log.With("part", "fleet", "fleet", fc.Name))
	if len(members) == 1 {
		r.source = members[0].Source
	} else {
		set, err := queueset.New(fc.Combine(), members...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.path, err)
		}
		r.source = set
	}
	policies, err := fc.BuildPolicies()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	schedule, err := fc.BuildSchedule()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	predictor, err := fc.BuildPredictor()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	if r.fleet, err = newFleet(ctx, s, fc, r.path); err != nil {
		return nil, fmt.Errorf("%s: fleet: %w", r.path, err)
	}
	prefix := ""
	if len(s.cfg.Fleets) > 1 {
		prefix = fc.Name + ": "
	}
	r.narr = newNarrator(s.opts.Out, 5*time.Second, prefix)
	r.narr.logsHint = s.opts.WorkerOutput == nil
	log := s.log.With("part", "autoscale", "fleet", fc.Name)
	learned := learnedfile.Load(s.learnedFile(fc), log)
	r.learned = learnedfile.NewKeeper(s.learnedFile(fc), learned, log)
	r.ctrl, err = autoscale.New(autoscale.Options{
		Source: r.source, Fleet: r.fleet,
		Policies: policies, Bounds: fc.Bounds(), Schedule: schedule, Predictor: predictor,
		Interval: fc.Interval.D(), History: fc.History,
		Clock: s.opts.Clock, Logger: log, Learned: learned,
		OnDecision: func(d autoscale.Decision) {
			r.learned.Observe(d)
			s.metrics.Observe(fc.Name, d)
			r.narr.failures(d.Time, r.fails.observe(d))
			r.narr.decision(d)
		},
		AllowBelowBusy: !fc.KeepsBusy(), Guardrails: fc.AutoscaleGuardrails(),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	return r, nil
}

// LastDecision returns the first fleet's controller's latest decision.
func (s *System) LastDecision() (autoscale.Decision, bool) {
	if len(s.runs) == 0 {
		return autoscale.Decision{}, false
	}
	return lastOf(s.runs[0].ctrl)
}

func lastOf(c *autoscale.Controller) (autoscale.Decision, bool) {
	ds := c.Decisions(1)
	if len(ds) == 0 {
		return autoscale.Decision{}, false
	}
	return ds[0], true
}

// Engine is the embedded queue engine.
func (s *System) Engine() *queue.Engine { return s.srv.Engine }

// Controller is the first fleet's autoscaler.
func (s *System) Controller() *autoscale.Controller {
	if len(s.runs) == 0 {
		return nil
	}
	return s.runs[0].ctrl
}

// Fleets names the fleets, in the file's order.
func (s *System) Fleets() []string {
	out := make([]string, len(s.runs))
	for i, r := range s.runs {
		out[i] = r.cfg.Name
	}
	return out
}

// FleetController is the autoscaler of the named fleet; nil when there is
// no such fleet.
func (s *System) FleetController(name string) *autoscale.Controller {
	if r := s.run(name); r != nil {
		return r.ctrl
	}
	return nil
}

// FleetState reads the named fleet's size.
func (s *System) FleetState(ctx context.Context, name string) (autoscale.FleetState, error) {
	r := s.run(name)
	if r == nil {
		return autoscale.FleetState{}, fmt.Errorf("up: no fleet %q", name)
	}
	return r.fleet.State(ctx)
}

func (s *System) run(name string) *fleetRun {
	for _, r := range s.runs {
		if r.cfg.Name == name {
			return r
		}
	}
	return nil
}

// SQSURL is the SQS endpoint, e.g. http://127.0.0.1:9324.
func (s *System) SQSURL() string { return s.srv.URL() }

// QueueURL is the URL of the named queue on this server.
func (s *System) QueueURL(name string) string {
	return s.srv.URL() + "/" + s.cfg.Server.AccountID + "/" + name
}

// ConsoleURL is the console's base URL, "" when it is off.
func (s *System) ConsoleURL() string {
	if s.consoleLn == nil {
		return ""
	}
	return "http://" + s.consoleLn.Addr().String()
}

// Stop stops what Start started, in reverse: the console (the dashboards'
// event streams first), the autoscalers, the fleets (every worker finishes
// or releases what it holds), then the server. It is safe to call more than
// once.
func (s *System) Stop(ctx context.Context) error {
	return s.parts.Stop(ctx)
}
