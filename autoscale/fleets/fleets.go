// Package fleets builds the fleet target a configuration names: one table
// (kinds) maps each fleet kind of package config to the package that
// implements it, and every fleet is handed the same clock and logger.
// qscale autoscale and qscale up build their fleets here, and nowhere else.
//
// Build makes no API call and starts nothing: a fleet with a lifecycle (the
// local one) is started once by the caller with Fleet.Start, and stopped
// with Fleet.Stop.
package fleets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/asgfleet"
	"github.com/qscale/qscale/autoscale/cwpublish"
	"github.com/qscale/qscale/autoscale/ecsfleet"
	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/autoscale/localfleet"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/internal/clock"
)

// Env is what every fleet is handed.
type Env struct {
	// Clock drives the fleet's timers; default clock.Real{}.
	Clock clock.Clock
	// Logger receives the fleet's events, with the fleet's name and kind
	// attached; default: discard.
	Logger *slog.Logger
	// Stdout and Stderr receive local workers' output; nil discards it.
	Stdout, Stderr io.Writer
	// Guard, when set, is asked by the Kubernetes fleet before every write
	// (leader election: k8sfleet.Config.Guard); other kinds ignore it.
	Guard k8sfleet.Guard
	// Executable is the qscale binary a local command's leading "qscale"
	// stands for; default the running program.
	Executable string
}

func (e Env) withDefaults() Env {
	if e.Clock == nil {
		e.Clock = clock.Real{}
	}
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	return e
}

// builder builds one kind's fleet from a validated configuration.
type builder func(ctx context.Context, f config.Fleet, env Env) (autoscale.Fleet, error)

// kinds is the registry: every kind a configuration may name, save the
// worker: shorthand, which qscale up expands into a local fleet
// (config.Worker.Local) before building it.
var kinds = map[string]builder{
	config.KindLocal:      buildLocal,
	config.KindKubernetes: buildKubernetes,
	config.KindECS:        buildECS,
	config.KindASG:        buildASG,
	config.KindMemory:     buildMemory,
}

// Kinds lists the kinds Build takes.
func Kinds() []string {
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Fleet is a built fleet target, not started yet.
type Fleet struct {
	autoscale.Fleet
	// Kind is the configuration's kind (config.KindLocal, ...).
	Kind string

	started atomic.Bool
}

// lifecycle is implemented by fleets that run something of their own (the
// local fleet's processes).
type lifecycle interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

var _ lifecycle = (*localfleet.Fleet)(nil)

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("fleets: fleet already started")

// Start starts a fleet that has a lifecycle (the local one); others need
// none. Call it once, before the controller's first tick.
func (f *Fleet) Start(ctx context.Context) error {
	if f.started.Swap(true) {
		return ErrStarted
	}
	if lf, ok := f.Fleet.(lifecycle); ok {
		return lf.Start(ctx)
	}
	return nil
}

// Stop stops a fleet that has a lifecycle: the local fleet's workers finish
// or release what they hold. It is idempotent.
func (f *Fleet) Stop(ctx context.Context) error {
	if lf, ok := f.Fleet.(lifecycle); ok {
		return lf.Stop(ctx)
	}
	return nil
}

// Local returns the local fleet, nil for other kinds.
func (f *Fleet) Local() *localfleet.Fleet {
	lf, _ := f.Fleet.(*localfleet.Fleet)
	return lf
}

// Build builds the fleet f names (f validated, defaults applied). Errors
// name the setting under path (the fleet's path in the file, e.g.
// "fleets[0]").
func Build(ctx context.Context, f config.Fleet, path string, env Env) (*Fleet, error) {
	env = env.withDefaults()
	kind := f.Kind()
	build, ok := kinds[kind]
	if !ok {
		if kind == config.KindWorker {
			return nil, fmt.Errorf("%s.worker: the worker: shorthand is expanded by qscale up (config.Worker.Local) before the fleet is built", path)
		}
		return nil, fmt.Errorf("%s: no fleet kind to build (one of %v)", path, Kinds())
	}
	env.Logger = env.Logger.With("fleet", f.Name, "kind", kind)
	fl, err := build(ctx, f, env)
	if err != nil {
		return nil, policy.Prefix(path+"."+kind, err)
	}
	return &Fleet{Fleet: fl, Kind: kind}, nil
}

func buildLocal(_ context.Context, f config.Fleet, env Env) (autoscale.Fleet, error) {
	l := f.Local
	argv := slices.Clone(l.Command)
	if argv[0] == "qscale" {
		exe := env.Executable
		if exe == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return nil, &policy.FieldError{Path: "command", Msg: fmt.Sprintf("finding this qscale binary: %v", err)}
			}
		}
		argv[0] = exe
	}
	return localfleet.New(localfleet.Options{
		Command:           argv,
		Env:               l.Env,
		Dir:               l.Dir,
		StatusDir:         l.StatusDir,
		Clock:             env.Clock,
		Logger:            env.Logger,
		Stdout:            env.Stdout,
		Stderr:            env.Stderr,
		MaxWorkers:        l.MaxWorkers,
		StartTimeout:      l.StartTimeout.D(),
		StopGrace:         l.StopGrace.D(),
		RestartBackoff:    l.RestartBackoff.D(),
		MaxRestartBackoff: l.MaxRestartBackoff.D(),
	})
}

func buildKubernetes(ctx context.Context, f config.Fleet, env Env) (autoscale.Fleet, error) {
	k := f.Kubernetes
	s := k8sfleet.Settings{
		Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace,
		Kind: k8sfleet.Deployment, Name: k.Deployment,
		StatusPort: k.StatusPort, QPS: float32(k.QPS), Guard: env.Guard,
	}
	if k.StatefulSet != "" {
		s.Kind, s.Name = k8sfleet.StatefulSet, k.StatefulSet
	}
	return k8sfleet.FromSettings(ctx, s, env.Clock, env.Logger)
}

func buildECS(ctx context.Context, f config.Fleet, env Env) (autoscale.Fleet, error) {
	e := f.ECS
	return ecsfleet.FromSettings(ctx, ecsfleet.Settings{
		Cluster: e.Cluster, Service: e.Service, Region: e.Region, Endpoint: e.Endpoint,
		StatusPort: e.StatusPort, ProtectionExpiry: e.ProtectionExpiry.D(), Logger: env.Logger,
	})
}

func buildASG(ctx context.Context, f config.Fleet, env Env) (autoscale.Fleet, error) {
	a := f.ASG
	return asgfleet.FromSettings(ctx, asgfleet.Settings{
		GroupName: a.GroupName, Region: a.Region, Endpoint: a.Endpoint,
		StatusPort: a.StatusPort, Logger: env.Logger,
	})
}

func buildMemory(_ context.Context, f config.Fleet, env Env) (autoscale.Fleet, error) {
	return memfleet.New(env.Clock, f.Memory.StartDelay.D()), nil
}

// BuildPublisher builds the CloudWatch publisher of f's cloudwatch section
// (nil, nil without one). Like Build, it makes no API call; wire it with
// autoscale.Options.OnDecision, Start it with the controller and Stop it
// after.
func BuildPublisher(ctx context.Context, f config.Fleet, path string, env Env) (*cwpublish.Publisher, error) {
	cw := f.CloudWatch
	if cw == nil {
		return nil, nil
	}
	env = env.withDefaults()
	dims := make([]cwpublish.Dimension, len(cw.Dimensions))
	for i, d := range cw.Dimensions {
		dims[i] = cwpublish.Dimension{Name: d.Name, Value: d.Value}
	}
	p, err := cwpublish.FromSettings(ctx, cwpublish.Settings{
		Config: cwpublish.Config{
			Namespace: cw.Namespace, MetricName: cw.MetricName, Dimensions: dims,
			QueueURL: f.Queue.URL, Unit: cw.Unit, Raw: cw.Raw, Period: cw.Period.D(),
			Clock: env.Clock, Logger: env.Logger.With("fleet", f.Name, "part", "cloudwatch"),
		},
		Region: cw.Region, Endpoint: cw.Endpoint, Protocol: cw.Protocol,
	})
	if err != nil {
		return nil, fmt.Errorf("%s.cloudwatch: %w", path, err)
	}
	return p, nil
}
