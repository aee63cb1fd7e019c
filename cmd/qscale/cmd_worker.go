package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qscale/qscale/worker"
	"github.com/qscale/qscale/worker/sqsclient"
	"github.com/qscale/qscale/worker/workerprom"
)

// Exit codes of qscale worker (docs/worker.md).
const (
	exitWorkerOK       = 0 // stopped (signal or drain) with every held message finished
	exitWorkerError    = 1 // could not start, or failed
	exitWorkerReleased = 3 // the grace period ended; unfinished messages were released
	exitWorkerForced   = 4 // a second signal stopped it at once; held messages were released
)

type workerExit struct {
	code int
	msg  string
}

func (e workerExit) Error() string { return e.msg }
func (e workerExit) ExitCode() int { return e.code }

// workerOptions are the flags of qscale worker.
type workerOptions struct {
	queueURL, endpoint, region, profile string

	concurrency, batch, pollers int
	prefetch                    int
	wait                        waitFlag
	visibility, heartbeat       time.Duration
	timeout                     time.Duration
	deleteDelay                 time.Duration
	retryDelay, retryMax        time.Duration
	grace                       time.Duration

	httpURL, httpStart, httpReady, httpContentType string
	httpRestartDelay                               time.Duration

	statusAddr, statusFile string
	logLevel               string

	// demo is the built-in demo handler's time per message (0: none).
	demo time.Duration

	argv []string
}

// waitFlag is the long-polling time: a duration ("20s") or whole seconds ("20").
type waitFlag struct{ d time.Duration }

func (w *waitFlag) String() string { return w.d.String() }
func (w *waitFlag) Set(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		w.d = time.Duration(n) * time.Second
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want seconds (0-20) or a duration like 20s")
	}
	w.d = d
	return nil
}

func parseWorkerFlags(args []string) (workerOptions, error) {
	o := workerOptions{wait: waitFlag{20 * time.Second}}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: qscale worker --queue-url URL [flags] -- CMD [ARGS...]
       qscale worker --queue-url URL --http URL [--http-start 'CMD'] [flags]
       qscale worker --queue-url URL --demo 10ms [flags]

Runs CMD once per message (body on stdin, QSCALE_* environment; exit 0 deletes
the message), or POSTs each message to a local HTTP application (2xx deletes).
See docs/worker.md.

flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.queueURL, "queue-url", os.Getenv("QSCALE_QUEUE_URL"), "queue URL (env QSCALE_QUEUE_URL)")
	fs.StringVar(&o.endpoint, "endpoint-url", "", "SQS endpoint (default: AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, or the queue URL's host when it is not an AWS one)")
	fs.StringVar(&o.region, "region", "", "AWS region (default: the queue URL's, AWS_REGION, the profile's, us-east-1)")
	fs.StringVar(&o.profile, "profile", "", "AWS shared-config profile (default: AWS_PROFILE)")
	fs.IntVar(&o.concurrency, "concurrency", 1, "messages processed at once")
	fs.IntVar(&o.prefetch, "prefetch", 0, "messages received ahead of free handler slots (hides the queue's round trip; given back at once on stop)")
	fs.IntVar(&o.batch, "batch", 10, "most messages per receive, 1-10")
	fs.IntVar(&o.pollers, "pollers", 0, "receive loops running at once (default ceil(concurrency/batch), at most 16)")
	fs.Var(&o.wait, "wait", "long-polling time per receive, 0-20 s")
	fs.DurationVar(&o.visibility, "visibility", 30*time.Second, "visibility timeout asked for on receive and extended by heartbeats")
	fs.DurationVar(&o.heartbeat, "heartbeat", 0, "how often held messages are extended (default visibility/3)")
	fs.DurationVar(&o.deleteDelay, "delete-delay", 10*time.Millisecond, "how long a delete waits for more finished messages to fill a batch of 10 (0: none)")
	fs.DurationVar(&o.timeout, "timeout", 0, "per-message handler timeout (0: none); a timed-out message is retried")
	fs.DurationVar(&o.retryDelay, "retry-delay", time.Second, "visibility after the first failure; doubles with each receive (0: retry at once)")
	fs.DurationVar(&o.retryMax, "retry-max-delay", 15*time.Minute, "longest retry delay")
	fs.DurationVar(&o.grace, "grace", 30*time.Second, "on SIGTERM/SIGINT, time to finish held messages before releasing them")
	fs.StringVar(&o.httpURL, "http", "", "POST each message to this URL instead of running a command")
	fs.StringVar(&o.httpStart, "http-start", "", "start and supervise this application (sh -c) serving --http")
	fs.StringVar(&o.httpReady, "http-ready", "", "readiness URL of the --http-start application (GET 2xx); default: TCP connect to --http's host")
	fs.DurationVar(&o.httpRestartDelay, "http-restart-delay", time.Second, "first wait before restarting a crashed --http-start application; doubles up to 30s")
	fs.StringVar(&o.httpContentType, "http-content-type", "application/json", "Content-Type of the POSTs")
	fs.StringVar(&o.statusAddr, "status-addr", "", "serve /status, /drain, /metrics on this address (127.0.0.1:0 picks a port)")
	fs.StringVar(&o.statusFile, "status-file", "", "keep the status document (JSON) in this file")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&o.demo, "demo", 0, "built-in demo handler: take this long per message, then succeed (no command needed)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usagef("%v", err)
	}
	o.argv = fs.Args()
	switch {
	case o.queueURL == "":
		return o, usagef("--queue-url is required")
	case o.demo < 0:
		return o, usagef("--demo must not be negative")
	case o.demo > 0 && (o.httpURL != "" || len(o.argv) > 0):
		return o, usagef("give one of a command, --http and --demo")
	case o.demo == 0 && o.httpURL == "" && len(o.argv) == 0:
		return o, usagef("give a command after --, --http URL or --demo DURATION")
	case o.httpURL != "" && len(o.argv) > 0:
		return o, usagef("give either a command or --http, not both")
	case o.httpStart != "" && o.httpURL == "":
		return o, usagef("--http-start needs --http URL")
	case o.wait.d < 0 || o.wait.d > 20*time.Second:
		return o, usagef("--wait %v: must be 0-20s", o.wait.d)
	case o.grace < 0:
		return o, usagef("--grace must not be negative")
	case o.retryDelay < 0 || o.retryMax < o.retryDelay:
		return o, usagef("--retry-delay must be 0..--retry-max-delay")
	}
	if o.httpURL != "" {
		if u, err := url.Parse(o.httpURL); err != nil || u.Host == "" {
			return o, usagef("--http %q: want http://host:port/path", o.httpURL)
		}
	}
	if o.statusAddr != "" {
		if _, _, err := net.SplitHostPort(o.statusAddr); err != nil {
			return o, usagef("--status-addr %q: want host:port", o.statusAddr)
		}
	}
	return o, nil
}

func runWorkerCommand(ctx context.Context, args []string) error {
	o, err := parseWorkerFlags(args)
	if err != nil {
		return err
	}
	return runWorker(ctx, o)
}

func runWorker(ctx context.Context, o workerOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("--log-level %q: %v", o.logLevel, err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The first SIGTERM/SIGINT starts the graceful stop; main's context
	// ends with it too, so the worker runs on a context that does not.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	base := context.WithoutCancel(ctx)

	client, _, err := sqsclient.Dial(ctx, sqsclient.Options{
		QueueURL: o.queueURL, Endpoint: o.endpoint, Region: o.region, Profile: o.profile,
		MaxConns: max(64, 2*o.concurrency),
	})
	if err != nil {
		return err
	}
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = client.Check(checkCtx)
	cancel()
	if err != nil {
		return err
	}
	log.Info("queue", "url", o.queueURL, "endpoint", client.Endpoint().String())

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := workerprom.New(reg, o.queueURL)

	var handler worker.Handler
	var sup *worker.Supervisor
	if o.httpURL != "" {
		handler = worker.HTTP(o.httpURL, worker.HTTPOptions{ContentType: o.httpContentType, QueueURL: o.queueURL})
		if o.httpStart != "" {
			u, _ := url.Parse(o.httpURL)
			addr := u.Host
			if u.Port() == "" {
				port := "80"
				if u.Scheme == "https" {
					port = "443"
				}
				addr = net.JoinHostPort(u.Hostname(), port)
			}
			sup = worker.NewSupervisor(worker.SupervisorConfig{
				Command: o.httpStart, ReadyURL: o.httpReady, ReadyAddr: addr,
				MinBackoff: o.httpRestartDelay, MaxBackoff: max(30*time.Second, o.httpRestartDelay),
				Env:    []string{"QSCALE_QUEUE_URL=" + o.queueURL},
				Logger: log,
			})
		}
	} else if o.demo > 0 {
		handler = demoHandler(o.demo)
	} else {
		handler = worker.Command(o.argv, worker.CommandOptions{QueueURL: o.queueURL})
	}

	cfg := worker.Config{
		Queue: client, Handler: handler, Logger: log, Observer: metrics,
		Concurrency: o.concurrency, Prefetch: o.prefetch, BatchSize: o.batch, Pollers: o.pollers,
		Wait: o.wait.d, NoWait: o.wait.d == 0,
		VisibilityTimeout: o.visibility, HeartbeatInterval: o.heartbeat,
		Timeout: o.timeout, DeleteDelay: o.deleteDelay, Backoff: worker.ExponentialBackoff(o.retryDelay, o.retryMax),
	}
	if sup != nil {
		cfg.Gate = sup.Wait
	}
	w, err := worker.New(cfg)
	if err != nil {
		return usagef("%v", err)
	}

	rep := &worker.Reporter{Worker: w, QueueURL: o.queueURL, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	if sup != nil {
		rep.App = sup.Status
	}
	var srv *http.Server
	if o.statusAddr != "" {
		ln, err := net.Listen("tcp", o.statusAddr)
		if err != nil {
			return fmt.Errorf("status endpoint: %w", err)
		}
		rep.StatusAddr = ln.Addr().String()
		srv = &http.Server{Handler: rep, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		log.Info("status endpoint", "addr", "http://"+rep.StatusAddr+"/status")
	}
	fileDone := make(chan error, 1)
	if o.statusFile != "" {
		if fi, err := os.Stat(filepath.Dir(o.statusFile)); err != nil || !fi.IsDir() {
			return fmt.Errorf("--status-file %s: its directory does not exist", o.statusFile)
		}
		go func() { fileDone <- rep.WriteFile(base, o.statusFile) }()
	} else {
		fileDone <- nil
	}

	if sup != nil {
		if err := sup.Start(base); err != nil {
			return err
		}
	}
	if err := w.Start(base); err != nil {
		return err
	}

	signals := 0
	released := 0
	for done := false; !done; {
		select {
		case s := <-sigs:
			if s == syscall.SIGUSR1 {
				log.Info("drain requested (SIGUSR1)")
				w.Drain()
				continue
			}
			signals++
			if signals == 1 {
				log.Info("stopping: finishing held messages", "signal", s.String(), "grace", o.grace)
				go func() {
					gctx, cancel := context.WithTimeout(base, o.grace)
					defer cancel()
					_ = w.Stop(gctx)
				}()
				continue
			}
			log.Warn("second signal: stopping now", "signal", s.String())
			now, cancel := context.WithCancel(base)
			cancel()
			go func() { _ = w.Stop(now) }()
		case <-w.Done():
			done = true
		}
	}
	var se *worker.StopError
	if errors.As(w.Err(), &se) {
		released = se.Released
	}

	if sup != nil {
		sctx, cancel := context.WithTimeout(base, 15*time.Second)
		if err := sup.Stop(sctx); err != nil {
			log.Warn("stopping handler application", "err", err)
		}
		cancel()
	}
	if err := <-fileDone; err != nil {
		log.Warn("status file", "err", err)
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(base, 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	switch {
	case signals >= 2:
		return workerExit{exitWorkerForced, fmt.Sprintf("stopped at once by a second signal; %d message(s) released", released)}
	case released > 0:
		return workerExit{exitWorkerReleased, fmt.Sprintf("grace period of %v ended; %d message(s) released", o.grace, released)}
	}
	log.Info("worker stopped", "counts", strings.TrimSpace(fmt.Sprintf("%+v", w.Status().Counts)))
	return nil
}

// demoHandler is the handler of --demo: it spends d on each message (as a
// real handler would, without using the CPU) and succeeds. qscale up's
// quickstart and the scaling benchmarks run it.
func demoHandler(d time.Duration) worker.Handler {
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
