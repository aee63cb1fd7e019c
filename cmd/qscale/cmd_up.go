package main

import (
	"context"
	"fmt"
	"os"
)

func init() {
	register(command{name: "up", summary: "run qscale on this machine (today: the queue server)", run: runUp})
}

// runUp starts what `qscale up` runs on one machine. Today that is the
// durable queue server with its defaults; the local worker fleet, the
// autoscaler and the dashboard join it as they land (issue "qscale up").
func runUp(ctx context.Context, args []string) error {
	fmt.Fprintln(os.Stderr, "qscale up: starting the queue server (flags as for 'qscale server'); the local fleet and dashboard are not part of 'up' yet")
	return runServer(ctx, args)
}
