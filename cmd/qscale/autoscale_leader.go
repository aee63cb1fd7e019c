package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"

	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/klog/v2"

	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/autoscale/k8sfleet/leader"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/internal/clock"
)

// elected reports whether f runs under leader election.
func elected(f config.Fleet) bool {
	return f.Kubernetes != nil && f.Kubernetes.LeaderElection != nil
}

// runElected runs f's autoscaler only while this process holds the fleet's
// Lease (kubernetes.leaderElection): while another process holds it, it
// waits; each time it wins, it builds a fresh autoscaler whose fleet asks
// the Lease before every change, and runs it; when the Lease is lost, the
// autoscaler stops at once and the process goes back to waiting. When ctx
// ends, the autoscaler stops and then the Lease is released.
func runElected(ctx context.Context, o autoscaleOptions, f config.Fleet, logger *slog.Logger) error {
	e, err := newElector(f, logger)
	if err != nil {
		return fmt.Errorf("%s: %w", o.config, err)
	}
	return e.Run(ctx, func(ctx context.Context) error {
		p, err := newAutoscalers(ctx, []config.Fleet{f}, logger, o.dryRun, e)
		if err != nil {
			return fmt.Errorf("%s: %w", o.config, err)
		}
		p.path, p.intervalFlag = o.config, o.interval
		return p.run(ctx)
	})
}

// newElector builds the Lease's elector of f, with a Kubernetes client of
// its own so that renewals never wait behind the fleet's requests.
func newElector(f config.Fleet, logger *slog.Logger) (*leader.Elector, error) {
	const path = "fleets[0].kubernetes"
	k, le := f.Kubernetes, f.Kubernetes.LeaderElection
	rc, ns, err := k8sfleet.Settings{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace, QPS: 5}.RESTConfig()
	if err != nil {
		return nil, policy.Prefix(path, err)
	}
	rc.UserAgent = "qscale-autoscaler-leader-election"
	lc, err := coordinationv1client.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// client-go's leader election logs through klog: into the same JSON
	// lines as the rest.
	klog.SetSlogLogger(logger.With("part", "leader election"))
	e, err := leader.New(leader.Config{
		Client: leaseClient{lc}, Namespace: cmp.Or(le.Namespace, ns), Lease: le.Lease, Identity: le.Identity,
		LeaseDuration: le.LeaseDuration.D(), RenewDeadline: le.RenewDeadline.D(), RetryPeriod: le.RetryPeriod.D(),
		Clock: clock.Real{}, Logger: logger.With("fleet", f.Name),
	})
	if err != nil {
		return nil, fmt.Errorf("%s.leaderElection: %w", path, err)
	}
	return e, nil
}

// leaseClient is the elector's client: the coordination.k8s.io/v1 group
// alone, so the binary links no other group's client.
type leaseClient struct {
	c *coordinationv1client.CoordinationV1Client
}

func (l leaseClient) CoordinationV1() coordinationv1client.CoordinationV1Interface { return l.c }
