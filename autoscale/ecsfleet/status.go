package ecsfleet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/qscale/qscale/worker"
)

// StatusReader reads a task's busy/idle state from the qscale worker's
// status endpoint (docs/worker.md): GET http://<task private IP>:Port/status.
// The worker must listen on the task's address (--status-addr
// 0.0.0.0:PORT), and the security group must let qscale reach the port.
//
// A worker is busy when its state is busy or draining or it holds a
// message (in_flight > 0); idle when idle or stopped.
type StatusReader struct {
	Port int
	// Client; default: one with a 2 s timeout.
	Client *http.Client
}

var _ BusyReader = (*StatusReader)(nil)

// Busy implements BusyReader.
func (r *StatusReader) Busy(ctx context.Context, t Task) (bool, error) {
	if t.PrivateIP == "" {
		return false, fmt.Errorf("task %s has no private IP (the status endpoint needs awsvpc network mode)", t.ARN)
	}
	return readStatus(ctx, r.Client, "http://"+net.JoinHostPort(t.PrivateIP, strconv.Itoa(r.Port))+"/status")
}

// readStatus GETs a worker status document and tells whether it is busy.
func readStatus(ctx context.Context, c *http.Client, url string) (bool, error) {
	rep, err := worker.FetchStatus(ctx, c, url)
	if err != nil {
		return false, err
	}
	busy, err := rep.Busy()
	if err != nil {
		return false, fmt.Errorf("GET %s: %w", url, err)
	}
	return busy, nil
}
