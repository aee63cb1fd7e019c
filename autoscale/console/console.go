// Package console is `qscale autoscale`'s HTTP endpoint for operators: a
// dashboard per fleet like the one `qscale up` serves (over a backend that
// reads the fleet's SQS queues and the fleet), Prometheus metrics of every
// fleet, health and readiness, each fleet's decisions and pause/resume.
//
//	GET  /metrics                     Prometheus (prommetrics's and failwatch's series, by fleet and queue)
//	GET  /healthz                     200 while the process runs
//	GET  /readyz                      200 when every fleet's last observation succeeded recently
//	GET  /api/fleets                  the fleets (JSON); /fleets/ the same as links
//	GET  /fleets/NAME/                the fleet's dashboard, and under it:
//	GET  /fleets/NAME/api/decisions   its recent decisions, newest first
//	POST /fleets/NAME/api/pause       pause its autoscaler
//	POST /fleets/NAME/api/resume      resume it
//	GET  /                            the first fleet's dashboard (and /api/... its API)
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
	"github.com/qscale/qscale/autoscale/failwatch"
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

// Fleet is one fleet the console shows.
type Fleet struct {
	// Name is the fleet's (unique); Kind its kind; Queue labels its
	// metrics (the queue's name, or several joined by "+") and Queues
	// lists them.
	Name, Kind, Queue string
	Queues            []string
	Controller        Controller // required
	// Backend is the fleet's dashboard's; required.
	Backend dashboard.Backend
	// Failures, when set, exports the fleet's handler failures and
	// dead-letter queue (failwatch's series) on /metrics.
	Failures func() dashboard.Failures
}

// Options configure a Console.
type Options struct {
	// Listen is host:port; required.
	Listen string
	// Token, when set, is required by /metrics and the dashboards.
	Token string
	// Fleets are the fleets shown, at least one; the first one's
	// dashboard is also at /.
	Fleets []Fleet
	// Queue, Controller and Backend are the one fleet of a console
	// without Fleets (named Queue).
	Queue      string
	Controller Controller
	Backend    dashboard.Backend
	// History is how far back the dashboard's charts go; default 24h.
	History time.Duration
	// ReadyWithin is how old the last successful observation may be for
	// /readyz to answer 200; default three intervals, at least 3s.
	ReadyWithin time.Duration
	Clock       clock.Clock  // default clock.Real{}
	Logger      *slog.Logger // default: discard
}

// Console is the operator console. Observe must see every decision (each
// controller's OnDecision) for the decision counters.
type Console struct {
	o       Options
	metrics *prommetrics.Collector
	dashes  []*dashboard.Dashboard // one per fleet, in Options.Fleets' order
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
	if len(o.Fleets) == 0 && (o.Controller != nil || o.Backend != nil) {
		o.Fleets = []Fleet{{Name: o.Queue, Queue: o.Queue, Controller: o.Controller, Backend: o.Backend}}
	}
	switch {
	case o.Listen == "":
		return nil, errors.New("console: Options.Listen is required")
	case len(o.Fleets) == 0:
		return nil, errors.New("console: Options.Fleets is required")
	}
	names := map[string]bool{}
	for _, f := range o.Fleets {
		switch {
		case f.Controller == nil || f.Backend == nil:
			return nil, fmt.Errorf("console: fleet %q: Controller and Backend are required", f.Name)
		case names[f.Name]:
			return nil, fmt.Errorf("console: fleet %q is listed twice", f.Name)
		}
		names[f.Name] = true
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReadyWithin <= 0 {
		for _, f := range o.Fleets {
			o.ReadyWithin = max(o.ReadyWithin, 3*f.Controller.Interval(), 3*time.Second)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := &Console{o: o}
	c.metrics = prommetrics.New(reg, prommetrics.Options{QueueMessages: true})
	fails := failwatch.NewCollector()
	reg.MustRegister(fails)
	tok := webguard.NewToken(o.Token)
	mux := http.NewServeMux()
	var links []FleetLink
	var handlers []http.Handler
	for _, f := range o.Fleets {
		ctrl := f.Controller
		c.metrics.Add(prommetrics.Fleet{
			Name: f.Name, Queue: f.Queue,
			Last:   prommetrics.LastOf(ctrl.Decisions),
			Paused: func() bool { p, _ := ctrl.Paused(); return p },
		})
		if f.Failures != nil {
			fails.Add(f.Name, f.Queue, f.Failures)
		}
		dash, err := dashboard.New(dashboard.Options{
			Backend: f.Backend, Clock: o.Clock, Token: o.Token, History: o.History,
			Logger: o.Logger.With("part", "dashboard", "fleet", f.Name),
		})
		if err != nil {
			return nil, fmt.Errorf("console: fleet %s: %w", f.Name, err)
		}
		c.dashes = append(c.dashes, dash)
		links = append(links, FleetLink{Name: f.Name, Kind: f.Kind, Queues: f.Queues})
		handlers = append(handlers, dash)
	}
	mux.Handle("GET /metrics", webguard.Protect(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), tok, nil, "the autoscaler's console"))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { text(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", c.serveReady)
	MountFleets(mux, links, handlers, func(h http.Handler) http.Handler {
		return webguard.Protect(h, tok, nil, "the autoscaler's console")
	})
	mux.Handle("/", c.dashes[0])
	c.handler = mux
	return c, nil
}

// Observe counts a decision of the named fleet in the metrics; pass it
// (with the fleet's name) as each controller's OnDecision.
func (c *Console) Observe(fleet string, d autoscale.Decision) { c.metrics.Observe(fleet, d) }

// Handler is the console's HTTP handler (what Start serves).
func (c *Console) Handler() http.Handler { return c.handler }

// serveReady answers 200 when every fleet's last observation succeeded
// within ReadyWithin, else 503 naming the first fleet that is behind.
func (c *Console) serveReady(w http.ResponseWriter, _ *http.Request) {
	oldest := time.Duration(0)
	for _, f := range c.o.Fleets {
		of := ""
		if len(c.o.Fleets) > 1 {
			of = " of fleet " + f.Name
		}
		last := f.Controller.LastObserved()
		if last.IsZero() {
			text(w, http.StatusServiceUnavailable, "not ready: the queue and the fleet"+of+" were not read yet")
			return
		}
		age := c.o.Clock.Now().Sub(last).Round(time.Millisecond)
		if age > c.o.ReadyWithin {
			text(w, http.StatusServiceUnavailable, fmt.Sprintf("not ready: the last successful observation%s was %s ago (more than %s)", of, age, c.o.ReadyWithin))
			return
		}
		oldest = max(oldest, age)
	}
	text(w, http.StatusOK, fmt.Sprintf("ready: last observation %s ago", oldest))
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
	for i, d := range c.dashes {
		if err := d.Start(ctx); err != nil {
			for _, started := range c.dashes[:i] {
				_ = started.Stop(ctx)
			}
			ln.Close()
			return fmt.Errorf("console: %w", err)
		}
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

// Stop ends the dashboards' event streams, then the server, within ctx.
// It is idempotent and safe before Start.
func (c *Console) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv == nil || c.stopped {
		return c.stopErr
	}
	c.stopped = true
	srv, done := c.srv, c.done
	var err error
	for _, d := range c.dashes {
		err = errors.Join(err, d.Stop(ctx))
	}
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
