package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/localfleet"
	"github.com/qscale/qscale/internal/clock"
)

// The local fleet: worker processes on this machine (autoscale/localfleet).
//
//	fleet:
//	  kind: local
//	  settings:
//	    command: [qscale, worker, --queue-url, URL, --, ./handle.sh]
//	    env: {LOG_LEVEL: debug}
//	    maxWorkers: 10
//	    stopGrace: 40s
//
// A command that starts with "qscale" runs this very binary. The fleet
// starts with the command's context and stops its workers (SIGTERM, then
// SIGKILL after stopGrace) when that context ends.
func init() {
	fleetKinds["local"] = newLocalFleet
}

func newLocalFleet(ctx context.Context, fc autoscale.FleetConfig, clk clock.Clock) (autoscale.Fleet, error) {
	opts, err := localFleetOptions(fc)
	if err != nil {
		return nil, err
	}
	opts.Clock = clk
	opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("fleet", "local")
	opts.Stdout, opts.Stderr = os.Stdout, os.Stderr
	f, err := localfleet.New(opts)
	if err != nil {
		return nil, err
	}
	if err := f.Start(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// localFleetOptions decodes fleet.settings of kind local.
func localFleetOptions(fc autoscale.FleetConfig) (localfleet.Options, error) {
	opts, err := localfleet.ParseSettings(fc.Settings)
	if err != nil {
		return opts, err
	}
	if opts.Command[0] == "qscale" {
		exe, err := os.Executable()
		if err != nil {
			return opts, fmt.Errorf("fleet.settings.command: finding this qscale binary: %w", err)
		}
		opts.Command[0] = exe
	}
	return opts, nil
}
