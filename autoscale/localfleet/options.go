package localfleet

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// Options configure a Fleet. Command is required; every other field has a
// default.
type Options struct {
	// Command is the argv of one worker, e.g.
	//	["/usr/local/bin/qscale", "worker", "--queue-url", URL, "--", "handler", "arg"]
	// The fleet inserts StatusArgs right after its first "worker" element
	// (after Command[0] when there is none).
	Command []string
	// StatusArgs returns the arguments that make the worker serve its status
	// endpoint and keep its status document (docs/worker.md) in statusFile.
	// Default DefaultStatusArgs, for qscale workers:
	//	--status-addr=127.0.0.1:0 --status-file=<statusFile>
	// A worker that is not qscale's may return nil and read the file's path
	// from its environment (QSCALE_STATUS_FILE); it must write the document
	// (package workerstatus) with at least "version": 1, a "state" and
	// "status_addr", and serve GET /healthz, GET /status and POST /drain
	// there.
	StatusArgs func(statusFile string) []string
	// Env is added to this process's environment for every worker, which
	// also gets QSCALE_WORKER_ID (its id) and QSCALE_STATUS_FILE.
	Env []string
	// Dir is the workers' working directory; default this process's.
	Dir string
	// StatusDir holds the status files (<id>.json). Default: a new
	// temporary directory, removed by Stop.
	StatusDir string
	// Clock is the time source of every timer of the fleet; default
	// clock.Real.
	Clock clock.Clock
	// Logger receives the fleet's own events (spawn, ready, crash,
	// replacement, drain, kill); default: discarded.
	Logger *slog.Logger
	// Stdout and Stderr receive the workers' output, each line prefixed
	// with the worker's id ("[w3] ..."); nil discards it. They may be the
	// same writer: the fleet writes whole lines, one write at a time.
	Stdout, Stderr io.Writer
	// MaxWorkers bounds SetDesired (larger counts fail with
	// autoscale.ErrInvalidDesired); default 64. Workers that are draining
	// after a scale-in do not count.
	MaxWorkers int
	// StartTimeout is how long a worker may take to become ready before it
	// is stopped (SIGTERM, then SIGKILL after StopGrace) and replaced;
	// default 60s.
	StartTimeout time.Duration
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL;
	// default 40s. Keep it above the workers' own --grace (30s by default)
	// so that a worker releases what it cannot finish before it is killed.
	StopGrace time.Duration
	// RestartBackoff is the wait before a crashed worker is replaced; it
	// doubles with each consecutive crash up to MaxRestartBackoff and goes
	// back to RestartBackoff once a worker has run MaxRestartBackoff.
	// Defaults 1s and 30s.
	RestartBackoff, MaxRestartBackoff time.Duration
	// PollInterval is how often a starting worker's status file is read;
	// default 50ms.
	PollInterval time.Duration
	// StatusTimeout bounds each request to a worker's status endpoint;
	// default 2s.
	StatusTimeout time.Duration
}

// DefaultStatusArgs is the default Options.StatusArgs, for `qscale worker`.
func DefaultStatusArgs(statusFile string) []string {
	return []string{"--status-addr=127.0.0.1:0", "--status-file=" + statusFile}
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Command) == 0 || o.Command[0] == "" {
		return o, errors.New("localfleet: Options.Command is required (the worker's argv)")
	}
	if o.StatusArgs == nil {
		o.StatusArgs = DefaultStatusArgs
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, name string, v time.Duration) error {
		switch {
		case *d < 0:
			return fmt.Errorf("localfleet: Options.%s %v must not be negative", name, *d)
		case *d == 0:
			*d = v
		}
		return nil
	}
	for _, e := range []error{
		def(&o.StartTimeout, "StartTimeout", 60*time.Second),
		def(&o.StopGrace, "StopGrace", 40*time.Second),
		def(&o.RestartBackoff, "RestartBackoff", time.Second),
		def(&o.MaxRestartBackoff, "MaxRestartBackoff", 30*time.Second),
		def(&o.PollInterval, "PollInterval", 50*time.Millisecond),
		def(&o.StatusTimeout, "StatusTimeout", 2*time.Second),
	} {
		if e != nil {
			return o, e
		}
	}
	if o.MaxRestartBackoff < o.RestartBackoff {
		return o, fmt.Errorf("localfleet: Options.MaxRestartBackoff %v is below RestartBackoff %v", o.MaxRestartBackoff, o.RestartBackoff)
	}
	switch {
	case o.MaxWorkers < 0:
		return o, fmt.Errorf("localfleet: Options.MaxWorkers %d must not be negative", o.MaxWorkers)
	case o.MaxWorkers == 0:
		o.MaxWorkers = 64
	}
	return o, nil
}
