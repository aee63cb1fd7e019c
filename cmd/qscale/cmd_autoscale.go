package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/console"
	"github.com/qscale/qscale/autoscale/cwpublish"
	"github.com/qscale/qscale/autoscale/failwatch"
	"github.com/qscale/qscale/autoscale/fleets"
	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/autoscale/learnedfile"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/dashboard/sqsbackend"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/service"
)

// autoscaleOptions are qscale autoscale's flags.
type autoscaleOptions struct {
	config   string
	interval time.Duration
	dryRun   bool
	level    slog.Level
	check    bool
	console  config.AutoscaleConsole
	out      io.Writer // the --check summary; logs go to stderr
}

func runAutoscale(ctx context.Context, args []string) error {
	fs := newFlags("autoscale", `Sizes a worker fleet (local processes, a Kubernetes Deployment, an ECS service,
an EC2 Auto Scaling group) from its queue's backlog, by the policies of the
configuration file. See docs/autoscaling.md.`, "qscale autoscale --config autoscale.yaml [flags]")
	o := autoscaleOptions{out: os.Stdout}
	var lf logFlags
	fs.group("Configuration")
	fs.StringVar(&o.config, "config", "", "configuration file, YAML or JSON (required)")
	fs.DurationVar(&o.interval, "interval", 0, "observation interval (default: the config's, else 1s)")
	fs.BoolVar(&o.check, "check", false, "validate the configuration (fleet and CloudWatch settings included, no AWS call) and exit")
	fs.group("Fleet")
	fs.BoolVar(&o.dryRun, "dry-run", false, "decide and log, but never change the fleet")
	fs.group("Console")
	fs.StringVar(&o.console.Listen, "console", config.DefaultAutoscaleConsole, "operator console (metrics, health, dashboard, pause) host:port, or off; beyond loopback it needs --console-token")
	fs.StringVar(&o.console.Token, "console-token", "", "token the console requires (default $"+config.ConsoleTokenEnv+")")
	fs.group("Output")
	lf.define(fs, "info", "debug logs every decision including holds; info only changes and errors")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if o.config == "" {
		return usagef("--config is required")
	}
	logger, err := lf.logger(os.Stderr)
	if err != nil {
		return err
	}
	logger = slog.New(newOnceHandler(logger.Handler())) // a failure that repeats is said once
	if o.interval < 0 || o.interval > 0 && o.interval < config.MinInterval {
		return usagef("--interval must be at least %s", config.MinInterval)
	}
	o.console = o.console.WithDefaults()
	if err := o.console.Validate(); err != nil {
		return usagef("%v", err)
	}
	return autoscaleRun(ctx, o, logger)
}

// autoscaleRun loads the configuration, builds every fleet's parts and
// the console, and (unless o.check) runs them until ctx ends.
func autoscaleRun(ctx context.Context, o autoscaleOptions, logger *slog.Logger) error {
	cfg, err := config.Load(o.config, config.ForAutoscale)
	if err != nil {
		return err
	}
	if o.interval > 0 {
		for i := range cfg.Fleets {
			cfg.Fleets[i].Interval = policy.Duration(o.interval)
		}
	}
	if len(cfg.Fleets) > 1 {
		for i, f := range cfg.Fleets {
			if elected(f) {
				return fmt.Errorf("%s: fleets[%d].kubernetes.leaderElection: a fleet under leader election runs alone in its process (its autoscaler starts and stops with the Lease): give it a file of its own", o.config, i)
			}
		}
	}
	p, err := newAutoscalers(ctx, cfg.Fleets, logger, o.dryRun, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", o.config, err)
	}
	if err := p.withConsole(ctx, o.console); err != nil {
		return fmt.Errorf("%s: %w", o.config, err)
	}
	p.path, p.intervalFlag = o.config, o.interval
	if o.check {
		for _, a := range p.fleets {
			f := a.cfg
			cw := "off"
			if a.pub != nil {
				cw = "every " + f.CloudWatch.Period.String()
			}
			fmt.Fprintf(o.out, "%s: valid; fleet %s (%s), %d policies, bounds %d..%d, every %s, CloudWatch %s, console %s\n",
				o.config, f.Name, a.fleet.Kind, a.policies, f.MinCapacity, f.MaxCapacity, f.Interval, cw, o.console)
		}
		return nil
	}
	if f := cfg.Fleets[0]; len(cfg.Fleets) == 1 && elected(f) {
		return runElected(ctx, o, f, logger)
	}
	return p.run(ctx)
}

// autoscalers are the fleets of one qscale autoscale process, each with
// its own controller, and the console that shows them all.
type autoscalers struct {
	log     *slog.Logger
	fleets  []*autoscaler
	console *console.Console // nil with --console off
	// path is the configuration file SIGHUP re-reads; intervalFlag the
	// --interval that overrides its interval.
	path         string
	intervalFlag time.Duration
}

// autoscaler is one fleet's parts, built and not started.
type autoscaler struct {
	cfg      config.Fleet
	path     string // fleets[i]
	log      *slog.Logger
	fleet    *fleets.Fleet
	pub      *cwpublish.Publisher // nil without a cloudwatch section
	ctrl     *autoscale.Controller
	policies int
	dryRun   bool
	learned  *learnedfile.Keeper // writes fleets[].learnedFile

	fails   *failwatch.Watch        // the fleet's handler failures and warnings
	dlq     *sqsbackend.DeadLetters // its first queue's dead-letter queue, read over SQS
	src     autoscale.QueueSource   // the fleet's queues, combined
	queues  []*sqssource.Source     // each queue's own source
	console *console.Console        // the process's; nil with --console off
}

// newAutoscalers builds every fleet's parts (newAutoscaler); a fleet that
// fails to build leaves nothing behind.
func newAutoscalers(ctx context.Context, fs []config.Fleet, logger *slog.Logger, dryRun bool, guard k8sfleet.Guard) (*autoscalers, error) {
	p := &autoscalers{log: logger}
	for i, f := range fs {
		a, err := newAutoscaler(ctx, f, fmt.Sprintf("fleets[%d]", i), logger, dryRun, guard)
		if err != nil {
			return nil, err
		}
		p.fleets = append(p.fleets, a)
	}
	return p, nil
}

// newAutoscaler builds the queue sources, the fleet, the publisher and
// the controller of f, at path in the file. It starts nothing and calls
// no API, so a part that fails to build leaves nothing behind, and
// --check runs it whole. guard, when not nil, is asked by the fleet
// before every change (leader election).
func newAutoscaler(ctx context.Context, f config.Fleet, path string, logger *slog.Logger, dryRun bool, guard k8sfleet.Guard) (*autoscaler, error) {
	clk := clock.Real{}
	policies, err := f.BuildPolicies()
	if err != nil {
		return nil, err
	}
	a := &autoscaler{cfg: f, path: path, log: logger, policies: len(policies), dryRun: dryRun}
	if err := a.buildSources(ctx); err != nil {
		return nil, err
	}
	env := fleets.Env{Clock: clk, Logger: logger, Stdout: os.Stdout, Stderr: os.Stderr, Guard: guard}
	if a.fleet, err = fleets.Build(ctx, f, path, env); err != nil {
		return nil, err
	}
	if a.pub, err = fleets.BuildPublisher(ctx, f, path, env); err != nil {
		return nil, err
	}
	if err := a.buildFailures(ctx, clk); err != nil {
		return nil, err
	}
	schedule, err := f.BuildSchedule()
	if err != nil {
		return nil, err
	}
	predictor, err := f.BuildPredictor()
	if err != nil {
		return nil, err
	}
	learned := learnedfile.Load(f.LearnedFile, logger.With("fleet", f.Name))
	a.learned = learnedfile.NewKeeper(f.LearnedFile, learned, logger.With("fleet", f.Name))
	ctrl, err := autoscale.New(autoscale.Options{
		Learned: learned,
		Source:  a.src, Fleet: a.fleet, Policies: policies, Bounds: f.Bounds(), Schedule: schedule, Predictor: predictor,
		Interval: f.Interval.D(), Clock: clk, Logger: logger.With("fleet", f.Name), History: f.History, DryRun: dryRun,
		OnDecision: a.onDecision, Guardrails: f.AutoscaleGuardrails(),
		AllowBelowBusy: !f.KeepsBusy(),
	})
	if err != nil {
		return nil, err
	}
	a.ctrl = ctrl
	return a, nil
}

// run starts every fleet, publisher and controller, then the console,
// and once ctx ends stops them in the reverse order: the console, the
// controllers, the publishers (which publish what is left), then the
// fleets, whose local workers finish what they hold before qscale exits.
func (p *autoscalers) run(ctx context.Context) (err error) {
	hup := notifyHUP() // before anything starts: a SIGHUP must never end the process
	defer signal.Stop(hup)
	var parts service.Stack
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		err = errors.Join(err, parts.Stop(sctx))
		p.log.Info("autoscale stopped")
	}()
	// Every fleet runs before any controller, and every controller stops
	// before any fleet: no controller sizes a stopped fleet.
	for _, a := range p.fleets {
		if err := parts.Start(ctx, "fleet "+a.cfg.Name, a.fleet); err != nil {
			return err
		}
	}
	for _, a := range p.fleets {
		if a.pub != nil {
			if err := parts.Start(ctx, "CloudWatch publisher "+a.cfg.Name, a.pub); err != nil {
				return err
			}
		}
	}
	for _, a := range p.fleets {
		if err := parts.Start(ctx, "dead-letter reader "+a.cfg.Name, a.dlq); err != nil {
			return err
		}
	}
	for _, a := range p.fleets {
		// Registered before the autoscaler, so written after it stopped.
		if a.learned.Path() != "" {
			if err := parts.Defer("learned times of "+a.cfg.Name, func(context.Context) error {
				return learnedfile.Save(a.learned.Path(), a.ctrl.Learned())
			}); err != nil {
				return err
			}
		}
		if err := parts.Start(ctx, "autoscaler "+a.cfg.Name, a.ctrl); err != nil {
			return err
		}
	}
	if err := p.startConsole(ctx, &parts); err != nil {
		return err
	}
	for _, a := range p.fleets {
		f := a.cfg
		a.log.Info("autoscale started", "fleet", f.Name, "kind", a.fleet.Kind, "queues", f.QueueNames(), "combine", f.QueueCombine,
			"min", f.MinCapacity, "max", f.MaxCapacity, "interval", f.Interval.String(), "dryRun", a.dryRun, "cloudwatch", a.pub != nil)
	}
	p.reloadOnSIGHUP(ctx, hup)
	return nil
}
