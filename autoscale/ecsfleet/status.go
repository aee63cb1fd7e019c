package ecsfleet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/qscale/qscale/worker/workerstatus"
)

// StatusReader reads a task's worker status from the qscale worker's
// status endpoint (docs/worker.md): GET http://<task private IP>:Port/status,
// through workerstatus.Client. The worker must listen on the task's address
// (--status-addr 0.0.0.0:PORT), and the security group must let qscale
// reach the port.
type StatusReader struct {
	Port int
	// Client sends the request; default: workerstatus.Client's (no proxy,
	// no keep-alives, 2 s timeout).
	Client *http.Client
}

var _ BusyReader = (*StatusReader)(nil)

// ReadStatus implements BusyReader.
func (r *StatusReader) ReadStatus(ctx context.Context, t Task) (workerstatus.Report, error) {
	if t.PrivateIP == "" {
		return workerstatus.Report{}, fmt.Errorf("task %s has no private IP (the status endpoint needs awsvpc network mode)", t.ARN)
	}
	c := workerstatus.Client{HTTP: r.Client}
	return c.Status(ctx, net.JoinHostPort(t.PrivateIP, strconv.Itoa(r.Port)))
}
