// Package console is `qscale autoscale`'s HTTP endpoint for operators: the
// dashboard `qscale up` serves (over a backend that reads the SQS queue and
// the fleet), Prometheus metrics, health and readiness, the decisions and
// pause/resume.
//
//	GET  /metrics         Prometheus (package prommetrics's series)
//	GET  /healthz         200 while the process runs
//	GET  /readyz          200 when the last observation succeeded recently
//	GET  /api/decisions   recent decisions, newest first (the dashboard's)
//	POST /api/pause       pause the autoscaler (the dashboard's)
//	POST /api/resume      resume it
//	GET  /                the dashboard
//
// It listens on loopback by default; beyond loopback a token is required
// (the caller validates that), checked by package webguard as `qscale up`'s
// console checks it.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/prommetrics"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/webguard"
)

// Controller is what the console reads of the autoscaler;
// *autoscale.Controller implements it.
type Controller interface {
	Decisions(n int) []autoscale.Decision
	LastObserved() time.Time
	Interval() time.Duration
	Paused() (bool, string)
}

var _ Controller = (*autoscale.Controller)(nil)

// Options configure a Console.
type Options struct {
	// Listen is host:port; required.
	Listen string
	// Token, when set, is required by /metrics and the dashboard.
	Token string
	// Queue labels the metrics (the queue's name).
	Queue      string
	Controller Controller // required
	// Backend is the dashboard's; required.
	Backend dashboard.Backend
	// History is how far back the dashboard's charts go; default 24h.
	History time.Duration
	// ReadyWithin is how old the last successful observation may be for
	// /readyz to answer 200; default three intervals, at least 3s.
	ReadyWithin time.Duration
	Clock       clock.Clock  // default clock.Real{}
	Logger      *slog.Logger // default: discard
}

// Console is the operator console. Observe must see every decision (the
// controller's OnDecision) for the decision counters.
type Console struct {
	o       Options
	metrics *prommetrics.Collector
	dash    *dashboard.Dashboard
	handler http.Handler

	mu      sync.Mutex // guards ln, srv, done, stopped, stopErr
	ln      net.Listener
	srv     *http.Server
	done    chan struct{}
	stopped bool
	stopErr error
}

// New builds the console; it listens once Start runs.
func New(o Options) (*Console, error) {
	switch {
	case o.Listen == "":
		return nil, errors.New("console: Options.Listen is required")
	case o.Controller == nil || o.Backend == nil:
		return nil, errors.New("console: Options.Controller and Backend are required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReadyWithin <= 0 {
		o.ReadyWithin = max(3*o.Controller.Interval(), 3*time.Second)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := &Console{o: o}
	c.metrics = prommetrics.New(reg, prommetrics.Options{
		Queue: o.Queue, QueueMessages: true,
		Last:   prommetrics.LastOf(o.Controller.Decisions),
		Paused: func() bool { p, _ := o.Controller.Paused(); return p },
	})
	dash, err := dashboard.New(dashboard.Options{
		Backend: o.Backend, Clock: o.Clock, Token: o.Token, History: o.History,
		Logger: o.Logger.With("part", "dashboard"),
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	c.dash = dash
	tok := webguard.NewToken(o.Token)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", webguard.Require(tok, nil, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { text(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", c.serveReady)
	mux.Handle("/", dash)
	c.handler = mux
	return c, nil
}

// Observe counts a decision in the metrics; pass it as the controller's
// OnDecision.
func (c *Console) Observe(d autoscale.Decision) { c.metrics.Observe(d) }

// Handler is the console's HTTP handler (what Start serves).
func (c *Console) Handler() http.Handler { return c.handler }

func (c *Console) serveReady(w http.ResponseWriter, _ *http.Request) {
	last := c.o.Controller.LastObserved()
	if last.IsZero() {
		text(w, http.StatusServiceUnavailable, "not ready: the queue and the fleet were not read yet")
		return
	}
	age := c.o.Clock.Now().Sub(last).Round(time.Millisecond)
	if age > c.o.ReadyWithin {
		text(w, http.StatusServiceUnavailable, fmt.Sprintf("not ready: the last successful observation was %s ago (more than %s)", age, c.o.ReadyWithin))
		return
	}
	text(w, http.StatusOK, fmt.Sprintf("ready: last observation %s ago", age))
}

func text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// Start listens, runs the dashboard's sampler and serves in the
// background.
func (c *Console) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv != nil || c.stopped {
		return errors.New("console: already started")
	}
	ln, err := net.Listen("tcp", c.o.Listen)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	if err := c.dash.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("console: %w", err)
	}
	c.ln = ln
	c.srv = &http.Server{
		Handler:           c.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: the dashboard's event stream stays open.
	}
	c.done = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.o.Logger.Error("console stopped", "err", err)
		}
	}(c.srv, c.done)
	return nil
}

// Addr is the address the console listens on; "" before Start.
func (c *Console) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln == nil {
		return ""
	}
	return c.ln.Addr().String()
}

// Stop ends the dashboard's event streams, then the server, within ctx.
// It is idempotent and safe before Start.
func (c *Console) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv == nil || c.stopped {
		return c.stopErr
	}
	c.stopped = true
	srv, done := c.srv, c.done
	err := c.dash.Stop(ctx)
	if serr := srv.Shutdown(ctx); serr != nil && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	c.stopErr = err
	return err
}
