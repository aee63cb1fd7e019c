package asgfleet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/qscale/qscale/worker/workerstatus"
)

// StatusReader reads an instance's worker status from the qscale worker's
// status endpoint (docs/worker.md): GET
// http://<instance private IP>:Port/status, through workerstatus.Client.
// The worker must listen on the instance's address (--status-addr
// 0.0.0.0:PORT), the security group must let qscale reach the port, and
// the fleet needs an IPResolver (EC2) to learn the IPs.
type StatusReader struct {
	Port int
	// Client sends the request; default: workerstatus.Client's (no proxy,
	// no keep-alives, 2 s timeout).
	Client *http.Client
}

var _ BusyReader = (*StatusReader)(nil)

// ReadStatus implements BusyReader.
func (r *StatusReader) ReadStatus(ctx context.Context, in Instance) (workerstatus.Report, error) {
	if in.PrivateIP == "" {
		return workerstatus.Report{}, fmt.Errorf("instance %s has no known private IP", in.ID)
	}
	c := workerstatus.Client{HTTP: r.Client}
	return c.Status(ctx, net.JoinHostPort(in.PrivateIP, strconv.Itoa(r.Port)))
}
