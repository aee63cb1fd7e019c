package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/console"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/dashboard/sqsbackend"
	"github.com/qscale/qscale/internal/service"
	"github.com/qscale/qscale/sqsconn"
)

// onDecision hands each decision to the CloudWatch publisher and the
// console's metrics; both are set before the controller starts.
func (a *autoscaler) onDecision(d autoscale.Decision) {
	if a.pub != nil {
		a.pub.OnDecision(d)
	}
	if a.console != nil {
		a.console.Observe(d)
	}
}

// withConsole builds the operator console (not listening yet) unless c is
// off or has no address (runAutoscale's flag gives the default).
func (a *autoscaler) withConsole(ctx context.Context, c config.AutoscaleConsole) error {
	if c.Off() || c.Listen == "" {
		return nil
	}
	q := a.cfg.Queue
	api, _, err := sqsconn.New(ctx, sqsconn.Options{QueueURL: q.URL, Endpoint: q.Endpoint, Region: q.Region})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	be, err := sqsbackend.New(sqsbackend.Config{
		QueueURL: q.URL, API: api, Source: a.src, Fleet: a.fleet, Controller: a.ctrl,
	})
	if err != nil {
		return err
	}
	cons, err := console.New(console.Options{
		Listen: c.Listen, Token: c.Token, Queue: a.cfg.Queue.QueueName(),
		Controller: a.ctrl, Backend: be, Logger: a.log.With("part", "console"),
	})
	if err != nil {
		return err
	}
	a.console = cons
	return nil
}

// startConsole starts the console after the controller, so it stops first.
func (a *autoscaler) startConsole(ctx context.Context, parts *service.Stack) error {
	if a.console == nil {
		return nil
	}
	if err := parts.Start(ctx, "console", a.console); err != nil {
		return err
	}
	a.log.Info("console listening", "url", "http://"+a.console.Addr()+"/")
	return nil
}

// reloadOnSIGHUP re-reads the configuration file at each SIGHUP until ctx
// ends, and swaps the fleet's policies, bounds and guardrails into the
// running controller; the workers keep running. A file that fails
// validation is refused with a log line and the running settings stay.
// What only a restart changes (the fleet's kind and settings, the queue,
// the interval, CloudWatch) is named in a warning.
func (a *autoscaler) reloadOnSIGHUP(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			a.reload()
		}
	}
}

// notifyHUP catches SIGHUP (whose default is to end the process) for
// reloadOnSIGHUP; signal.Stop releases it.
func notifyHUP() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}

// reload is one SIGHUP.
func (a *autoscaler) reload() {
	cfg, err := config.Load(a.path, config.ForAutoscale)
	if err != nil {
		a.log.Error("reload refused; the running configuration stays", "config", a.path, "err", err)
		return
	}
	f := cfg.Fleets[0]
	if a.intervalFlag > 0 {
		f.Interval = policy.Duration(a.intervalFlag)
	}
	policies, err := f.BuildPolicies()
	if err != nil {
		a.log.Error("reload refused; the running configuration stays", "config", a.path, "err", err)
		return
	}
	schedule, err := f.BuildSchedule()
	if err != nil {
		a.log.Error("reload refused; the running configuration stays", "config", a.path, "err", err)
		return
	}
	err = a.ctrl.Reconfigure(autoscale.Settings{Policies: policies, Bounds: f.Bounds(), Guardrails: f.AutoscaleGuardrails(), Schedule: schedule})
	if err != nil {
		a.log.Error("reload refused; the running configuration stays", "config", a.path, "err", err)
		return
	}
	if restart := needsRestart(a.cfg, f); len(restart) > 0 {
		a.log.Warn("reload: these changes need a restart of qscale autoscale and were not applied: "+strings.Join(restart, ", "), "config", a.path)
	}
	old := a.cfg
	a.cfg.Policies, a.cfg.MinCapacity, a.cfg.MaxCapacity, a.cfg.Guardrails = f.Policies, f.MinCapacity, f.MaxCapacity, f.Guardrails
	a.cfg.Schedule = f.Schedule
	a.log.Info("configuration reloaded", "config", a.path, "policies", len(policies),
		"min", f.MinCapacity, "max", f.MaxCapacity, "previousMin", old.MinCapacity, "previousMax", old.MaxCapacity,
		"guardrails", f.Guardrails != nil)
}

// needsRestart names what differs between the running fleet and the
// reloaded one that a reload cannot change.
func needsRestart(running, next config.Fleet) []string {
	var out []string
	if running.Kind() != next.Kind() {
		out = append(out, fmt.Sprintf("fleet kind %s -> %s", running.Kind(), next.Kind()))
	} else if !reflect.DeepEqual(fleetSection(running), fleetSection(next)) {
		out = append(out, "the "+next.Kind()+" section")
	}
	if running.Queue != next.Queue {
		out = append(out, "queue")
	}
	if running.Name != next.Name {
		out = append(out, "name")
	}
	if running.Interval != next.Interval {
		out = append(out, "interval")
	}
	if running.History != next.History {
		out = append(out, "history")
	}
	if !reflect.DeepEqual(running.CloudWatch, next.CloudWatch) {
		out = append(out, "cloudwatch")
	}
	if !reflect.DeepEqual(running.Predict, next.Predict) {
		out = append(out, "predict")
	}
	return out
}

// fleetSection is the kind's section, for comparison.
func fleetSection(f config.Fleet) any {
	switch {
	case f.Local != nil:
		return *f.Local
	case f.Kubernetes != nil:
		return *f.Kubernetes
	case f.ECS != nil:
		return *f.ECS
	case f.ASG != nil:
		return *f.ASG
	case f.Memory != nil:
		return *f.Memory
	}
	return nil
}
