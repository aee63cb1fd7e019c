package main

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/qscale/qscale/worker"
	"github.com/qscale/qscale/worker/daemon"
)

// waitFlag is the long-polling time: a duration ("20s") or whole seconds ("20").
type waitFlag struct{ d *time.Duration }

func (w waitFlag) String() string {
	if w.d == nil {
		return ""
	}
	return w.d.String()
}

func (w waitFlag) Set(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		*w.d = time.Duration(n) * time.Second
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want seconds (0-20) or a duration like 20s")
	}
	*w.d = d
	return nil
}

// parseWorkerFlags parses qscale worker's command line into the worker
// process's options.
func parseWorkerFlags(args []string) (daemon.Options, error) {
	o := daemon.Defaults()
	o.Log, o.Signals = os.Stderr, true
	fs := newFlags("worker", `Runs CMD once per message (body on stdin, QSCALE_* environment; exit 0 deletes
the message), or POSTs each message to a local HTTP application (2xx deletes).
The first SIGTERM or SIGINT stops gracefully: no new receives, the receive in
progress ends within --wait, held messages get --grace. A second signal quits
at once (exit 4). See docs/worker.md.`,
		"qscale worker --queue-url URL [flags] -- CMD [ARGS...]",
		"qscale worker --queue-url URL --http URL [--http-start 'CMD'] [flags]",
		"qscale worker --queue-url URL --demo 10ms [flags]")
	var lf logFlags
	fs.group("Queue")
	o.QueueURL = os.Getenv("QSCALE_QUEUE_URL")
	fs.Var(&queueURLs{o: &o}, "queue-url", "queue URL (default $QSCALE_QUEUE_URL); repeat it to serve several queues in turn")
	fs.StringVar(&o.Endpoint, "endpoint-url", "", "SQS endpoint (default: $AWS_ENDPOINT_URL_SQS, $AWS_ENDPOINT_URL, or the queue URL's host when it is not an AWS one)")
	fs.StringVar(&o.Region, "region", "", "AWS region (default: the queue URL's, $AWS_REGION, the profile's, us-east-1)")
	fs.StringVar(&o.Profile, "profile", "", "AWS shared-config profile (default $AWS_PROFILE)")
	fs.group("Handler")
	fs.StringVar(&o.HTTPURL, "http", "", "POST each message to this URL instead of running a command")
	fs.StringVar(&o.HTTPStart, "http-start", "", "start and supervise this application (run by sh) serving --http")
	fs.StringVar(&o.HTTPReady, "http-ready", "", "readiness URL of the --http-start application (GET 2xx) (default: a TCP connection to --http's host)")
	fs.DurationVar(&o.HTTPRestartDelay, "http-restart-delay", o.HTTPRestartDelay, "first wait before restarting a crashed --http-start application; doubles up to 30s")
	fs.StringVar(&o.HTTPContentType, "http-content-type", o.HTTPContentType, "Content-Type of the POSTs")
	fs.DurationVar(&o.Demo, "demo", 0, "built-in demo handler: take this long per message, then succeed (no command needed)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "per-message handler timeout (0: none); a timed-out message is retried")
	fs.group("Receiving")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "messages processed at once")
	fs.IntVar(&o.Prefetch, "prefetch", o.Prefetch, "messages received ahead of free handler slots (hides the queue's round trip; given back at once on stop)")
	fs.IntVar(&o.BatchSize, "batch", o.BatchSize, "most messages per receive, 1-10")
	fs.IntVar(&o.Pollers, "pollers", o.Pollers, "receive loops running at once (default: ceil((concurrency+prefetch)/batch), at most 16)")
	fs.Var(waitFlag{&o.Wait}, "wait", "long-polling time per receive, 0-20 s (default 20s)")
	fs.DurationVar(&o.Visibility, "visibility", o.Visibility, "visibility timeout asked for on receive and extended by heartbeats")
	fs.DurationVar(&o.Heartbeat, "heartbeat", o.Heartbeat, "how often held messages are extended (default: visibility/3)")
	fs.DurationVar(&o.DeleteDelay, "delete-delay", o.DeleteDelay, "how long a delete waits for more finished messages to fill a batch of 10 (0: none)")
	fs.DurationVar(&o.RetryDelay, "retry-delay", o.RetryDelay, "visibility after the first failure; doubles with each receive (0: retry at once)")
	fs.DurationVar(&o.RetryMaxDelay, "retry-max-delay", o.RetryMaxDelay, "longest retry delay")
	fs.group("Stopping")
	fs.DurationVar(&o.Grace, "grace", o.Grace, "on SIGTERM/SIGINT, time to finish held messages before releasing them")
	fs.group("Output")
	fs.StringVar(&o.StatusAddr, "status-addr", "", "serve /status, /drain, /metrics on this address (127.0.0.1:0 picks a port)")
	fs.StringVar(&o.StatusFile, "status-file", "", "keep the status document (JSON) in this file")
	lf.define(fs, "info", "debug, info, warn or error")
	if err := fs.parse(args); err != nil {
		return o, err
	}
	log, err := lf.logger(os.Stderr)
	if err != nil {
		return o, err
	}
	o.Logger = log
	_ = o.LogLevel.UnmarshalText([]byte(lf.level)) // checked by logger
	o.Command = fs.Args()
	if err := o.Validate(); err != nil {
		return o, usagef("%v", err)
	}
	return o, nil
}

func runWorkerCommand(ctx context.Context, args []string) error {
	o, err := parseWorkerFlags(args)
	if err != nil {
		return err
	}
	err = daemon.Run(ctx, o)
	var oe *daemon.OptionsError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &oe):
		return usagef("%v", err)
	case errors.Is(err, daemon.ErrQuit):
		return exitError{exitQuit, err.Error()}
	case errors.Is(err, worker.ErrReleased):
		return exitError{exitReleased, err.Error()}
	}
	return err
}

// queueURLs is --queue-url: the first given replaces QSCALE_QUEUE_URL's,
// each further one is a queue served too (daemon.Options.MoreQueueURLs).
type queueURLs struct {
	o   *daemon.Options
	set bool
}

func (q *queueURLs) String() string {
	if q == nil || q.o == nil {
		return ""
	}
	return q.o.QueueURL
}

func (q *queueURLs) Set(v string) error {
	if !q.set {
		q.o.QueueURL, q.set = v, true
		return nil
	}
	q.o.MoreQueueURLs = append(q.o.MoreQueueURLs, v)
	return nil
}
