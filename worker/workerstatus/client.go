package workerstatus

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The endpoints a worker serves on its status address.
const (
	PathStatus  = "/status"  // GET: 200 and the Report
	PathDrain   = "/drain"   // POST: 202 and the Report; the worker drains and exits
	PathHealthz = "/healthz" // GET: 200 while the worker runs
	PathMetrics = "/metrics" // GET: Prometheus metrics
)

// DefaultTimeout bounds one request of a Client whose Timeout is 0.
const DefaultTimeout = 2 * time.Second

// defaultHTTP connects straight to the worker (no proxy from the
// environment: status addresses are private ones) and keeps no idle
// connection: requests are rare and a connection must not outlive the
// worker it reached.
var defaultHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

// Client reads workers' status and asks them to drain. The zero value is
// ready to use; it is safe for concurrent use.
type Client struct {
	// HTTP sends the requests; default: no proxy, no keep-alives.
	HTTP *http.Client
	// Timeout bounds each request (on top of the caller's ctx); default
	// DefaultTimeout.
	Timeout time.Duration
}

// Status reads the document of the worker whose status endpoint is addr
// (host:port), with GET /status, and checks its version and state.
func (c *Client) Status(ctx context.Context, addr string) (Report, error) {
	return c.document(ctx, http.MethodGet, addr, PathStatus, http.StatusOK)
}

// Drain asks the worker at addr to stop receiving, finish what it holds
// however long that takes, and exit (POST /drain). It returns the worker's
// answer: a Report whose InFlight says what it still has to finish.
func (c *Client) Drain(ctx context.Context, addr string) (Report, error) {
	return c.document(ctx, http.MethodPost, addr, PathDrain, http.StatusAccepted)
}

// Healthy reports whether the worker at addr answers GET /healthz with 200.
func (c *Client) Healthy(ctx context.Context, addr string) error {
	resp, cancel, err := c.do(ctx, http.MethodGet, addr, PathHealthz)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxDocument))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", resp.Request.URL, resp.Status)
	}
	return nil
}

func (c *Client) document(ctx context.Context, method, addr, path string, want int) (Report, error) {
	resp, cancel, err := c.do(ctx, method, addr, path)
	if err != nil {
		return Report{}, err
	}
	defer cancel()
	defer resp.Body.Close()
	if resp.StatusCode != want {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxDocument))
		return Report{}, fmt.Errorf("%s %s: %s", method, resp.Request.URL, resp.Status)
	}
	rep, err := Decode(resp.Body)
	if err != nil {
		return Report{}, fmt.Errorf("%s %s: %w", method, resp.Request.URL, err)
	}
	return rep, nil
}

// do sends one request; the caller closes the body, then calls cancel.
func (c *Client) do(ctx context.Context, method, addr, path string) (*http.Response, context.CancelFunc, error) {
	if addr == "" {
		return nil, nil, fmt.Errorf("%s %s: the worker has no status address", method, path)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		return nil, nil, err // *url.Error names the method and URL
	}
	return resp, cancel, nil
}
