// Package daemon is the worker process, qscale worker: from typed Options it
// builds the queue client, the handler (a command per message, an HTTP
// application it may start and supervise, or the demo handler), the worker,
// its status endpoint and status file, runs them until it is asked to stop
// and shuts them down in order: stop receiving, finish held messages within
// the grace period, release the rest (visibility 0), stop the application,
// write the last status.
//
// It is the adapter that joins the worker runtime (package worker, which
// imports no SDK) to Amazon SQS's (worker/sqsclient) and Prometheus's
// (worker/workerprom) clients.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qscale/qscale/internal/lifeline"
	"github.com/qscale/qscale/internal/webguard"
	"github.com/qscale/qscale/sqsconn"
	"github.com/qscale/qscale/worker"
	"github.com/qscale/qscale/worker/sqsclient"
	"github.com/qscale/qscale/worker/workerprom"
)

// ErrQuit is wrapped by Run's error when a second signal stopped the worker
// at once: held messages were released.
var ErrQuit = errors.New("stopped at once by a second signal")

// ReleasedError is Run's error when the grace period ended before every
// started message finished: those were released to the queue.
type ReleasedError struct {
	Grace    time.Duration
	Released int
}

func (e *ReleasedError) Error() string {
	return fmt.Sprintf("grace period of %v ended; %d message(s) released", e.Grace, e.Released)
}

// Unwrap makes errors.Is(err, worker.ErrReleased) hold.
func (e *ReleasedError) Unwrap() error { return worker.ErrReleased }

// Run validates o, starts the worker process's parts and runs until a stop
// is requested: ctx ends, or (with o.Signals) SIGTERM or SIGINT comes. The
// first request stops gracefully within o.Grace, a second signal at once;
// SIGUSR1 drains. It returns nil when every started message finished, an
// *OptionsError for bad options, a *ReleasedError when the grace period
// ended, an error wrapping ErrQuit after a second signal, and any other
// error when the process could not start (bad queue URL or credentials,
// status address in use, ...).
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	log := o.Logger
	if log == nil {
		out := o.Log
		if out == nil {
			out = io.Discard
		}
		log = slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: o.LogLevel}))
	}
	st := watchStops(ctx, o.Signals)
	defer st.close()

	p, err := assemble(st.stopping, o, log)
	if err != nil {
		var oe *OptionsError
		if st.stopping.Err() != nil && !errors.As(err, &oe) {
			log.Info("stopped before the worker started", "err", err)
			return nil
		}
		return err
	}
	if err := p.start(ctx); err != nil {
		p.stopServing()
		return err
	}
	quit := p.wait(st)
	return p.shutdown(quit)
}

// process is a worker process's parts, built by assemble.
type process struct {
	o    Options
	log  *slog.Logger
	base context.Context // Run's context without its cancellation, set by start

	w   *worker.Worker
	sup *worker.Supervisor // nil without HTTPStart
	rep *worker.Reporter

	ln       net.Listener // the status endpoint's; nil without StatusAddr
	srv      *http.Server
	fileDone chan error // the status file writer's result
}

// assemble builds the parts and checks the queue; nothing runs yet but
// the status endpoint's listener.
func assemble(ctx context.Context, o Options, log *slog.Logger) (*process, error) {
	if o.StatusFile != "" {
		if fi, err := os.Stat(filepath.Dir(o.StatusFile)); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--status-file %s: its directory does not exist", o.StatusFile)
		}
	}
	var queues []worker.Queue
	for _, u := range append([]string{o.QueueURL}, o.MoreQueueURLs...) {
		client, _, err := sqsclient.Dial(ctx, sqsclient.Options{
			QueueURL: u, Endpoint: o.Endpoint, Region: o.Region, Profile: o.Profile,
			MaxConns: max(64, 2*o.Concurrency),
		})
		if err != nil {
			return nil, err
		}
		checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = client.Check(checkCtx)
		cancel()
		if err != nil {
			return nil, sqsconn.Explain(err, u, client.Endpoint(), sqsconn.Fixes{Endpoint: "set --endpoint-url", Queue: "set --queue-url"})
		}
		log.Info("queue", "url", u, "endpoint", client.Endpoint().String())
		queues = append(queues, client)
	}
	var queue worker.Queue = queues[0]
	if len(queues) > 1 {
		mq, err := worker.NewMultiQueue(queues...)
		if err != nil {
			return nil, err
		}
		queue = mq
	}

	if len(o.Command) > 0 || o.HTTPStart != "" {
		if err := lifeline.Guard(); err != nil {
			log.Warn("handler processes will outlive this worker should it be killed outright", "err", err)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	p := &process{o: o, log: log, fileDone: make(chan error, 1)}
	var handler worker.Handler
	switch {
	case o.HTTPURL != "":
		handler = worker.HTTP(o.HTTPURL, worker.HTTPOptions{ContentType: o.HTTPContentType, QueueURL: o.QueueURL})
		if o.HTTPStart != "" {
			p.sup = worker.NewSupervisor(worker.SupervisorConfig{
				Command: o.HTTPStart, ReadyURL: o.HTTPReady, ReadyAddr: o.readyAddr(),
				MinBackoff: o.HTTPRestartDelay, MaxBackoff: max(30*time.Second, o.HTTPRestartDelay),
				Env:    []string{"QSCALE_QUEUE_URL=" + o.QueueURL},
				Logger: log,
			})
		}
	case o.Demo > 0:
		handler = demo(o.Demo)
	default:
		handler = worker.Command(o.Command, worker.CommandOptions{QueueURL: o.QueueURL})
	}

	cfg := worker.Config{
		Queue: queue, Handler: handler, Logger: log, Observer: workerprom.New(reg, o.QueueURL),
		Concurrency: o.Concurrency, Prefetch: o.Prefetch, BatchSize: o.BatchSize, Pollers: o.Pollers,
		Wait: o.Wait, NoWait: o.Wait == 0,
		VisibilityTimeout: o.Visibility, HeartbeatInterval: o.Heartbeat,
		Timeout: o.Timeout, DeleteDelay: o.DeleteDelay, Backoff: worker.ExponentialBackoff(o.RetryDelay, o.RetryMaxDelay),
	}
	if p.sup != nil {
		cfg.Gate = p.sup.Wait
	}
	var err error
	if p.w, err = worker.New(cfg); err != nil {
		return nil, &OptionsError{Msg: err.Error()}
	}
	p.rep = &worker.Reporter{Worker: p.w, QueueURL: o.QueueURL, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	if p.sup != nil {
		p.rep.App = p.sup.Status
	}
	if o.StatusAddr != "" {
		if p.ln, err = net.Listen("tcp", o.StatusAddr); err != nil {
			return nil, fmt.Errorf("status endpoint: %w", err)
		}
		p.rep.StatusAddr = p.ln.Addr().String()
	}
	return p, nil
}

// start starts the status endpoint and file, the application and the
// worker. Their context is ctx without its cancellation: stopping is the
// business of wait and shutdown.
func (p *process) start(ctx context.Context) error {
	base := context.WithoutCancel(ctx)
	p.base = base
	if p.ln != nil {
		// Fleets read the status by IP address (pod, task, instance or
		// loopback), so the guard's Host rule costs them nothing and keeps
		// browsers of other sites and DNS rebinding away from /drain.
		p.srv = &http.Server{Handler: webguard.Protect(p.rep, nil, nil, "the worker's status endpoint"), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = p.srv.Serve(p.ln) }()
		p.log.Info("status endpoint", "addr", "http://"+p.rep.StatusAddr+"/status")
	}
	if p.o.StatusFile != "" {
		go func() { p.fileDone <- p.rep.WriteFile(base, p.o.StatusFile) }()
	} else {
		p.fileDone <- nil
	}
	if p.sup != nil {
		if err := p.sup.Start(base); err != nil {
			return err
		}
	}
	return p.w.Start(base)
}

// wait runs until the worker has stopped, turning stop requests into the
// worker's Stop and Drain; it reports whether a second signal asked to
// quit at once.
func (p *process) wait(st *stops) (quit bool) {
	stopping := false
	for {
		select {
		case r := <-st.requests:
			switch {
			case r.kind == requestDrain:
				p.log.Info("drain requested: no new receives; finishing every held message, however long it takes", "by", r.why)
				p.w.Drain()
			case r.kind == requestQuit:
				p.log.Warn("second signal: stopping now; held messages are released", "by", r.why)
				quit = true
				now, cancel := context.WithCancel(p.base)
				cancel()
				go func() { _ = p.w.Stop(now) }()
			case !stopping:
				stopping = true
				p.log.Info(p.stoppingMessage(), "by", r.why, "wait", p.o.Wait, "grace", p.o.Grace)
				go func() {
					gctx, cancel := context.WithTimeout(p.base, p.o.Grace)
					defer cancel()
					_ = p.w.Stop(gctx)
				}()
			}
		case <-p.w.Done():
			return quit
		}
	}
}

// stoppingMessage tells the user, at the first stop request, what the
// worker waits for and how to stop it at once.
func (p *process) stoppingMessage() string {
	var b strings.Builder
	b.WriteString("stopping: no new receives")
	if p.o.Wait > 0 {
		fmt.Fprintf(&b, "; finishing the receive in progress (long poll, at most %v)", p.o.Wait)
	}
	if held := p.w.Status().InFlight; held > 0 {
		fmt.Fprintf(&b, "; %d held message(s) get up to %v, then are released", held, p.o.Grace)
	} else {
		fmt.Fprintf(&b, "; messages it brings get up to %v", p.o.Grace)
	}
	if p.o.Signals {
		b.WriteString("; a second SIGTERM or SIGINT quits now (exit 4)")
	}
	return b.String()
}

// shutdown stops what outlives the worker, in order: the application, the
// status file (its last document says "stopped"), the status endpoint.
func (p *process) shutdown(quit bool) error {
	released := 0
	var se *worker.StopError
	if errors.As(p.w.Err(), &se) {
		released = se.Released
	}
	if p.sup != nil {
		d := 15 * time.Second
		if quit {
			d = 2 * time.Second
		}
		ctx, cancel := context.WithTimeout(p.base, d)
		if err := p.sup.Stop(ctx); err != nil {
			p.log.Warn("stopping the handler application", "err", err)
		}
		cancel()
	}
	if err := <-p.fileDone; err != nil {
		p.log.Warn("status file", "err", err)
	}
	p.stopServing()
	switch {
	case quit:
		return fmt.Errorf("%w; %d message(s) released", ErrQuit, released)
	case released > 0:
		return &ReleasedError{Grace: p.o.Grace, Released: released}
	}
	p.log.Info("worker stopped", "counts", strings.TrimSpace(fmt.Sprintf("%+v", p.w.Status().Counts)))
	return nil
}

// stopServing closes the status endpoint.
func (p *process) stopServing() {
	switch {
	case p.srv != nil:
		ctx, cancel := context.WithTimeout(p.base, 2*time.Second)
		_ = p.srv.Shutdown(ctx)
		cancel()
	case p.ln != nil:
		p.ln.Close()
	}
}

// demo is the handler of Options.Demo: it spends d on each message (as a
// real handler would, without using the CPU) and succeeds. qscale up's
// quickstart and the scaling benchmarks run it.
func demo(d time.Duration) worker.Handler {
	return func(ctx context.Context, _ *worker.Message) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
