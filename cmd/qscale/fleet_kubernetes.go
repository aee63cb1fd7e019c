package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/internal/clock"
)

// kind: kubernetes scales a Deployment or StatefulSet through its scale
// subresource; see docs/kubernetes.md. Settings: deployment or statefulset
// (required), namespace, kubeconfig, context, statusPort, qps.
func init() {
	fleetKinds["kubernetes"] = newKubernetesFleet
}

func newKubernetesFleet(ctx context.Context, fc autoscale.FleetConfig, clk clock.Clock) (autoscale.Fleet, error) {
	s, err := k8sfleet.ParseSettings(fc.Settings)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return k8sfleet.FromSettings(ctx, s, clk, logger)
}
