package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"
)

// Options are the settings of a worker process: what qscale worker's flags
// set (docs/worker.md, "Flags"). Start from Defaults; Run validates them.
type Options struct {
	// QueueURL is the queue; required.
	QueueURL string
	// MoreQueueURLs are further queues the worker serves too, in turn
	// with QueueURL (worker.MultiQueue), on the same endpoint settings.
	MoreQueueURLs []string
	// Endpoint, Region and Profile choose the SQS endpoint and AWS
	// configuration (see worker/sqsclient.Options).
	Endpoint, Region, Profile string

	// Concurrency, Prefetch, BatchSize and Pollers are worker.Config's.
	Concurrency, Prefetch, BatchSize, Pollers int
	// Wait is the long polling per receive, 0..20 s; 0 polls without
	// waiting.
	Wait time.Duration
	// Visibility, Heartbeat, Timeout and DeleteDelay are worker.Config's
	// VisibilityTimeout, HeartbeatInterval, Timeout and DeleteDelay.
	Visibility, Heartbeat, Timeout, DeleteDelay time.Duration
	// RetryDelay is the visibility after a first failure, doubling with
	// each receive up to RetryMaxDelay.
	RetryDelay, RetryMaxDelay time.Duration
	// Grace is how long held messages have to finish once a stop begins,
	// before they are released.
	Grace time.Duration

	// Command is run once per message (worker.Command). Exactly one of
	// Command, HTTPURL and Demo is set.
	Command []string
	// HTTPURL receives a POST per message (worker.HTTP).
	HTTPURL string
	// HTTPStart, if set, is the application serving HTTPURL, started and
	// supervised by the worker (worker.Supervisor); HTTPReady its
	// readiness URL (default: a TCP connection to HTTPURL's host).
	HTTPStart, HTTPReady string
	// HTTPRestartDelay is the first wait before restarting a crashed
	// HTTPStart application; it doubles up to 30 s.
	HTTPRestartDelay time.Duration
	// HTTPContentType is the Content-Type of the POSTs.
	HTTPContentType string
	// Demo is the built-in handler's time per message: it waits that long
	// and succeeds.
	Demo time.Duration

	// StatusAddr, if set, serves /status, /drain, /healthz and /metrics
	// (host:port; port 0 picks one).
	StatusAddr string
	// StatusFile, if set, keeps the status document in this file.
	StatusFile string

	// Logger, if set, receives the worker's log; Log and LogLevel are
	// then unused (qscale worker builds it from --log-format and
	// --log-level).
	Logger *slog.Logger
	// LogLevel filters the log written to Log.
	LogLevel slog.Level
	// Log receives the worker's log lines (text) when Logger is nil;
	// discarded if nil.
	Log io.Writer
	// Signals makes Run handle the process's signals: SIGTERM and SIGINT
	// stop (the first gracefully, a second at once), SIGUSR1 drains.
	Signals bool
}

// Defaults are the options qscale worker starts from.
func Defaults() Options {
	return Options{
		Concurrency:      1,
		BatchSize:        10,
		Wait:             20 * time.Second,
		Visibility:       30 * time.Second,
		DeleteDelay:      10 * time.Millisecond,
		RetryDelay:       time.Second,
		RetryMaxDelay:    15 * time.Minute,
		Grace:            30 * time.Second,
		HTTPRestartDelay: time.Second,
		HTTPContentType:  "application/json",
		LogLevel:         slog.LevelInfo,
	}
}

// OptionsError is a mistake in Options: qscale worker exits 2 on it.
type OptionsError struct{ Msg string }

func (e *OptionsError) Error() string { return e.Msg }

func optionsErrorf(format string, a ...any) error {
	return &OptionsError{Msg: fmt.Sprintf(format, a...)}
}

// Validate reports the first mistake in o as an *OptionsError. The worker's
// own settings (concurrency, visibility, ...) are checked by worker.New when
// Run starts.
func (o Options) Validate() error {
	handlers := 0
	for _, set := range []bool{len(o.Command) > 0, o.HTTPURL != "", o.Demo > 0} {
		if set {
			handlers++
		}
	}
	switch {
	case o.QueueURL == "":
		return optionsErrorf("--queue-url is required")
	case o.Demo < 0:
		return optionsErrorf("--demo must not be negative")
	case handlers == 0:
		return optionsErrorf("give a command after --, --http URL or --demo DURATION")
	case handlers > 1:
		return optionsErrorf("give one of a command, --http and --demo")
	case o.HTTPStart != "" && o.HTTPURL == "":
		return optionsErrorf("--http-start needs --http URL")
	case o.Wait < 0 || o.Wait > 20*time.Second:
		return optionsErrorf("--wait %v: must be 0-20s", o.Wait)
	case o.Grace < 0:
		return optionsErrorf("--grace must not be negative")
	case o.RetryDelay < 0 || o.RetryMaxDelay < o.RetryDelay:
		return optionsErrorf("--retry-delay must be 0..--retry-max-delay")
	case o.HTTPRestartDelay < 0:
		return optionsErrorf("--http-restart-delay must not be negative")
	}
	if o.HTTPURL != "" {
		if u, err := url.Parse(o.HTTPURL); err != nil || u.Host == "" {
			return optionsErrorf("--http %q: want http://host:port/path", o.HTTPURL)
		}
	}
	if o.StatusAddr != "" {
		if _, _, err := net.SplitHostPort(o.StatusAddr); err != nil {
			return optionsErrorf("--status-addr %q: want host:port", o.StatusAddr)
		}
	}
	return nil
}

// readyAddr is the host:port the HTTP application's readiness is probed on
// when no readiness URL is given.
func (o Options) readyAddr() string {
	u, err := url.Parse(o.HTTPURL)
	if err != nil {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}
