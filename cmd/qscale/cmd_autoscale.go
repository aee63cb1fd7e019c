package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/internal/clock"
)

// fleetKinds builds the fleet a config's fleet.kind names. Fleet targets
// register here as they are built (local processes, Kubernetes, ECS, EC2).
var fleetKinds = map[string]func(ctx context.Context, fc autoscale.FleetConfig, clk clock.Clock) (autoscale.Fleet, error){
	// memory: an in-memory fleet that runs nothing: for trying policies
	// against a real queue. settings.startDelay (duration) delays readiness.
	"memory": func(_ context.Context, fc autoscale.FleetConfig, clk clock.Clock) (autoscale.Fleet, error) {
		var delay time.Duration
		if v, ok := fc.Settings["startDelay"]; ok {
			var d policy.Duration
			if err := d.UnmarshalText([]byte(fmt.Sprint(v))); err != nil {
				return nil, fmt.Errorf("fleet.settings.startDelay: %w", err)
			}
			delay = d.D()
		}
		for k := range fc.Settings {
			if k != "startDelay" {
				return nil, fmt.Errorf("fleet.settings.%s: unknown setting of the memory fleet (startDelay)", k)
			}
		}
		return memfleet.New(clk, delay), nil
	},
}

func runAutoscale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("autoscale", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file, YAML or JSON (required)")
	interval := fs.Duration("interval", 0, "observation interval (default: the config's, else 1s)")
	dryRun := fs.Bool("dry-run", false, "decide and log, but never change the fleet")
	level := fs.String("log-level", "info", "debug logs every decision including holds; info only changes and errors")
	check := fs.Bool("check", false, "validate the configuration and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *cfgPath == "" {
		return usagef("-config is required")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return usagef("-log-level: %v", err)
	}
	if *interval < 0 || *interval > 0 && *interval < 100*time.Millisecond {
		return usagef("-interval must be at least 100ms")
	}
	cfg, err := autoscale.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *interval > 0 {
		cfg.Interval = policy.Duration(*interval)
	}
	policies, err := cfg.BuildPolicies()
	if err != nil {
		return err
	}
	newFleet, ok := fleetKinds[cfg.Fleet.Kind]
	if !ok {
		var kinds []string
		for k := range fleetKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		return fmt.Errorf("%s: fleet.kind: %q is not available in this build (available: %s)", *cfgPath, cfg.Fleet.Kind, strings.Join(kinds, ", "))
	}
	if *check {
		fmt.Printf("%s: valid; %d policies, bounds %d..%d, every %s\n", *cfgPath, len(policies), cfg.MinCapacity, cfg.MaxCapacity, cfg.Interval)
		return nil
	}
	clk := clock.Real{}
	fleet, err := newFleet(ctx, cfg.Fleet, clk)
	if err != nil {
		return err
	}
	src, err := sqssource.FromConfig(ctx, cfg.Queue)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	// A fleet with a lifecycle (the local one) is started here and stopped
	// after the controller, so its workers finish before qscale exits.
	type lifecycle interface {
		Start(context.Context) error
		Stop(context.Context) error
	}
	if lf, ok := fleet.(lifecycle); ok {
		if err := lf.Start(ctx); err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if err := lf.Stop(sctx); err != nil {
				logger.Error("stopping the fleet", "err", err)
			}
		}()
	}
	var onDecision func(autoscale.Decision)
	if cfg.CloudWatch != nil {
		pub, err := newCloudWatchPublisher(ctx, cfg.CloudWatch, cfg.Queue.URL, clk)
		if err != nil {
			return fmt.Errorf("%s: %w", *cfgPath, err)
		}
		if err := pub.Start(ctx); err != nil {
			return err
		}
		defer func() {
			if err := pub.Stop(); err != nil {
				logger.Error("publishing to CloudWatch", "err", err)
			}
		}()
		onDecision = pub.OnDecision
	}
	ctrl, err := autoscale.New(autoscale.Options{
		Source: src, Fleet: fleet, Policies: policies, Bounds: cfg.Bounds(),
		Interval: cfg.Interval.D(), Clock: clk, Logger: logger, History: cfg.History, DryRun: *dryRun,
		OnDecision: onDecision,
	})
	if err != nil {
		return err
	}
	if err := ctrl.Start(ctx); err != nil {
		return err
	}
	logger.Info("autoscale started", "queue", cfg.Queue.URL, "fleet", cfg.Fleet.Kind, "min", cfg.MinCapacity, "max", cfg.MaxCapacity, "interval", cfg.Interval.String(), "dryRun", *dryRun, "cloudwatch", cfg.CloudWatch != nil)
	<-ctx.Done()
	ctrl.Stop()
	logger.Info("autoscale stopped")
	return nil
}
