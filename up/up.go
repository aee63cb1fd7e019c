// Package up assembles qscale on one machine, as `qscale up` runs it: the
// embedded queue server, a fleet of local `qscale worker` processes, the
// autoscaler that sizes that fleet from the queue's backlog, and the console
// (dashboard, producer endpoint, Prometheus metrics).
//
// Data flow: producers -> queue server -> workers; the engine's counts ->
// EngineSource -> autoscale.Controller -> local fleet; everything -> console.
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
	// Clock is the controller's and the source's; default clock.Real{}.
	Clock clock.Clock
}

// System is a running qscale up.
type System struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	srv     *server.Server
	queue   *queue.Queue
	fleet   *fleets.Fleet
	ctrl    *autoscale.Controller
	reg     *prometheus.Registry
	metrics *metrics
	narr    *narrator

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
	s := &System{opts: o, cfg: cfg, log: o.Logger, narr: newNarrator(o.Out, 5*time.Second)}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = s.Stop(sctx)
		}
	}()

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
	fc := cfg.Fleets[0]
	s.queue, err = s.srv.Engine.Queue(fc.Queue.Name)
	if err != nil {
		return nil, fmt.Errorf("fleets[0].queue %q: %w", fc.Queue.Name, err)
	}
	policies, err := fc.BuildPolicies()
	if err != nil {
		return nil, err
	}
	s.fleet, err = newFleet(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	if err := s.parts.Start(ctx, "fleet", s.fleet); err != nil {
		return nil, err
	}

	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.reg, s.srv.Engine, fc.Queue.Name, s.LastDecision)

	schedule, err := fc.BuildSchedule()
	if err != nil {
		return nil, err
	}
	predictor, err := fc.BuildPredictor()
	if err != nil {
		return nil, err
	}
	s.ctrl, err = autoscale.New(autoscale.Options{
		Source: NewEngineSource(s.queue, o.Clock, 0), Fleet: s.fleet,
		Policies: policies, Bounds: fc.Bounds(), Schedule: schedule, Predictor: predictor, Interval: fc.Interval.D(), History: fc.History,
		Clock: o.Clock, Logger: o.Logger.With("part", "autoscale"),
		OnDecision: s.onDecision, AllowBelowBusy: !fc.KeepsBusy(),
	})
	if err != nil {
		return nil, err
	}
	if err := s.parts.Start(ctx, "autoscaler", s.ctrl); err != nil {
		return nil, err
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

func (s *System) onDecision(d autoscale.Decision) {
	s.metrics.observe(d)
	s.narr.decision(d)
}

// LastDecision returns the controller's latest decision.
func (s *System) LastDecision() (autoscale.Decision, bool) {
	if s.ctrl == nil {
		return autoscale.Decision{}, false
	}
	ds := s.ctrl.Decisions(1)
	if len(ds) == 0 {
		return autoscale.Decision{}, false
	}
	return ds[0], true
}

// Engine is the embedded queue engine.
func (s *System) Engine() *queue.Engine { return s.srv.Engine }

// Controller is the autoscaler.
func (s *System) Controller() *autoscale.Controller { return s.ctrl }

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

// Stop stops what Start started, in reverse: the console (the dashboard's
// event streams first), the autoscaler, the fleet (every worker finishes or
// releases what it holds), then the server. It is safe to call more than
// once.
func (s *System) Stop(ctx context.Context) error {
	return s.parts.Stop(ctx)
}
