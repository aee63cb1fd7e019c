package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/console"
	"github.com/qscale/qscale/autoscale/failwatch"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/dashboard/sqsbackend"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/service"
	"github.com/qscale/qscale/sqsconn"
)

// onDecision hands each decision to the CloudWatch publisher and the
// console's metrics; both are set before the controller starts.
func (a *autoscaler) onDecision(d autoscale.Decision) {
	a.learned.Observe(d)
	if a.pub != nil {
		a.pub.OnDecision(d)
	}
	a.fails.Observe(d)
	if a.console != nil {
		a.console.Observe(a.cfg.Name, d)
	}
}

// buildFailures builds the fleet's failure watch over its workers' status
// documents and its first queue's dead-letter queue, read over SQS (its
// RedrivePolicy names it). It calls no API.
func (a *autoscaler) buildFailures(ctx context.Context, clk clock.Clock) error {
	q := a.cfg.QueueList()[0]
	api, _, err := sqsconn.New(ctx, sqsconn.Options{QueueURL: q.URL, Endpoint: q.Endpoint, Region: q.Region})
	if err != nil {
		return fmt.Errorf("%s.%s: %w", a.path, queuePath(a.cfg, 0), err)
	}
	log := a.log.With("fleet", a.cfg.Name)
	a.dlq = sqsbackend.NewDeadLetters(api, q.URL, max(a.cfg.Interval.D(), 5*time.Second), clk, log)
	a.fails = failwatch.New(failwatch.Options{Max: a.cfg.MaxCapacity, DeadLetters: a.dlq, Logger: log})
	return nil
}

// withConsole builds the operator console (not listening yet) over every
// fleet, unless c is off or has no address (runAutoscale's flag gives the
// default).
func (p *autoscalers) withConsole(ctx context.Context, c config.AutoscaleConsole) error {
	if c.Off() || c.Listen == "" {
		return nil
	}
	var cf []console.Fleet
	for _, a := range p.fleets {
		be, err := a.backend(ctx)
		if err != nil {
			return err
		}
		cf = append(cf, console.Fleet{
			Name: a.cfg.Name, Kind: a.fleet.Kind, Queue: a.cfg.QueueLabel(), Queues: a.cfg.QueueNames(),
			Controller: a.ctrl, Backend: be, Failures: a.fails.Report,
		})
	}
	cons, err := console.New(console.Options{
		Listen: c.Listen, Token: c.Token, Fleets: cf, Logger: p.log.With("part", "console"),
	})
	if err != nil {
		return err
	}
	p.console = cons
	for _, a := range p.fleets {
		a.console = cons
	}
	return nil
}

// backend is the fleet's dashboard backend: its queues, its controller
// (decisions, pause) and its workers: a local fleet's processes, else
// those whose status documents the fleet read.
func (a *autoscaler) backend(ctx context.Context) (dashboard.Backend, error) {
	var qs []sqsbackend.Queue
	for i, q := range a.cfg.QueueList() {
		api, _, err := sqsconn.New(ctx, sqsconn.Options{QueueURL: q.URL, Endpoint: q.Endpoint, Region: q.Region})
		if err != nil {
			return nil, fmt.Errorf("console: %s.%s: %w", a.path, queuePath(a.cfg, i), err)
		}
		qs = append(qs, sqsbackend.Queue{URL: q.URL, API: api})
	}
	return sqsbackend.New(sqsbackend.Config{
		Queues: qs, Source: a.src, Fleet: a.fleet, Controller: a.ctrl, Workers: a.fleet.Workers(),
		Failures: a.fails.Report,
	})
}

// startConsole starts the console after the controllers, so it stops
// first.
func (p *autoscalers) startConsole(ctx context.Context, parts *service.Stack) error {
	if p.console == nil {
		return nil
	}
	if err := parts.Start(ctx, "console", p.console); err != nil {
		return err
	}
	p.log.Info("console listening", "url", "http://"+p.console.Addr()+"/")
	return nil
}

// reloadOnSIGHUP re-reads the configuration file at each SIGHUP until ctx
// ends, and swaps the fleet's policies, bounds and guardrails into the
// running controller; the workers keep running. A file that fails
// validation is refused with a log line and the running settings stay.
// What only a restart changes (the fleet's kind and settings, the queue,
// the interval, CloudWatch) is named in a warning.
func (p *autoscalers) reloadOnSIGHUP(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			p.reload()
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

// reload is one SIGHUP: each running fleet takes the settings of the
// fleet of the same name in the file. The whole file is refused when it
// fails validation or any fleet's settings fail; fleets added or removed
// need a restart.
func (p *autoscalers) reload() {
	cfg, err := config.Load(p.path, config.ForAutoscale)
	if err != nil {
		p.log.Error("reload refused; the running configuration stays", "config", p.path, "err", err)
		return
	}
	next := map[string]config.Fleet{}
	for _, f := range cfg.Fleets {
		if p.intervalFlag > 0 {
			f.Interval = policy.Duration(p.intervalFlag)
		}
		next[f.Name] = f
	}
	type change struct {
		a *autoscaler
		f config.Fleet
		s autoscale.Settings
	}
	var changes []change
	var restart []string
	running := map[string]bool{}
	for _, a := range p.fleets {
		running[a.cfg.Name] = true
		f, ok := next[a.cfg.Name]
		if !ok {
			restart = append(restart, "fleet "+a.cfg.Name+" removed")
			continue
		}
		policies, err := f.BuildPolicies()
		if err != nil {
			p.log.Error("reload refused; the running configuration stays", "config", p.path, "fleet", f.Name, "err", err)
			return
		}
		schedule, err := f.BuildSchedule()
		if err != nil {
			p.log.Error("reload refused; the running configuration stays", "config", p.path, "fleet", f.Name, "err", err)
			return
		}
		changes = append(changes, change{a, f, autoscale.Settings{Policies: policies, Bounds: f.Bounds(), Guardrails: f.AutoscaleGuardrails(), Schedule: schedule}})
		for _, r := range needsRestart(a.cfg, f) {
			restart = append(restart, a.cfg.Name+": "+r)
		}
	}
	for _, f := range cfg.Fleets {
		if !running[f.Name] {
			restart = append(restart, "fleet "+f.Name+" added")
		}
	}
	for _, c := range changes {
		if err := c.a.ctrl.Reconfigure(c.s); err != nil {
			p.log.Error("reload refused for this fleet; its running configuration stays", "config", p.path, "fleet", c.f.Name, "err", err)
			continue
		}
		old := c.a.cfg
		c.a.cfg.Policies, c.a.cfg.MinCapacity, c.a.cfg.MaxCapacity, c.a.cfg.Guardrails = c.f.Policies, c.f.MinCapacity, c.f.MaxCapacity, c.f.Guardrails
		c.a.cfg.Schedule = c.f.Schedule
		c.a.fails.SetMax(c.f.MaxCapacity)
		p.log.Info("configuration reloaded", "config", p.path, "fleet", c.f.Name, "policies", len(c.s.Policies),
			"min", c.f.MinCapacity, "max", c.f.MaxCapacity, "previousMin", old.MinCapacity, "previousMax", old.MaxCapacity,
			"guardrails", c.f.Guardrails != nil)
	}
	if len(restart) > 0 {
		p.log.Warn("reload: these changes need a restart of qscale autoscale and were not applied: "+strings.Join(restart, ", "), "config", p.path)
	}
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
	if running.Queue != next.Queue || !reflect.DeepEqual(running.Queues, next.Queues) || running.QueueCombine != next.QueueCombine {
		out = append(out, "queue")
	}
	if !reflect.DeepEqual(running.Source, next.Source) {
		out = append(out, "source")
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
