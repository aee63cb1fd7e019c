package asgfleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/qscale/qscale/worker"
)

// StatusReader reads an instance's busy/idle state from the qscale worker's
// status endpoint (docs/worker.md): GET
// http://<instance private IP>:Port/status. The worker must listen on the
// instance's address (--status-addr 0.0.0.0:PORT), the security group must
// let qscale reach the port, and the fleet needs an IPResolver (EC2) to
// learn the IPs.
//
// A worker is busy when its state is busy or draining or it holds a
// message (in_flight > 0); idle when idle or stopped.
type StatusReader struct {
	Port int
	// Client; default: one with a 2 s timeout.
	Client *http.Client
}

var _ BusyReader = (*StatusReader)(nil)

var defaultClient = &http.Client{Timeout: 2 * time.Second}

// Busy implements BusyReader.
func (r *StatusReader) Busy(ctx context.Context, in Instance) (bool, error) {
	if in.PrivateIP == "" {
		return false, fmt.Errorf("instance %s has no known private IP", in.ID)
	}
	return readStatus(ctx, r.Client, "http://"+net.JoinHostPort(in.PrivateIP, strconv.Itoa(r.Port))+"/status")
}

// readStatus GETs a worker status document and tells whether it is busy.
func readStatus(ctx context.Context, c *http.Client, url string) (bool, error) {
	if c == nil {
		c = defaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var rep worker.Report
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rep); err != nil {
		return false, fmt.Errorf("GET %s: not a worker status document: %w", url, err)
	}
	switch rep.State {
	case worker.StateBusy, worker.StateDraining:
		return true, nil
	case worker.StateIdle, worker.StateStopped:
		return rep.InFlight > 0, nil
	}
	return false, errors.New("GET " + url + ": unknown worker state " + strconv.Quote(string(rep.State)))
}
