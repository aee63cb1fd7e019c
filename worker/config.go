package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

// Handler processes one message. Returning nil deletes the message; an
// error leaves it on the queue for a retry after the backoff. The context is
// cancelled when the per-message timeout expires or the worker stops without
// waiting; handlers must return promptly then.
type Handler func(ctx context.Context, m *Message) error

// Observer is told about every message; workerprom implements it with
// Prometheus metrics. Its methods must be cheap and safe for concurrent use.
type Observer interface {
	// Started is called when a handler starts on a message.
	Started(m *Message)
	// Finished is called when the handler returns, with how long it ran.
	Finished(m *Message, took time.Duration, err error)
}

// Config configures a Worker. The zero value of every field but Queue and
// Handler is a usable default.
type Config struct {
	Queue   Queue
	Handler Handler

	// Clock is the time source; clock.Real{} if nil.
	Clock clock.Clock
	// Logger receives the runtime's own log lines; discarded if nil.
	Logger *slog.Logger
	// Observer is told about each message; optional.
	Observer Observer

	// Concurrency is how many handlers run at once (default 1).
	Concurrency int
	// Prefetch is how many messages may be held beyond those being handled
	// (default 0): receiving the next message while the handler runs hides
	// the queue's round trip. Prefetched messages are heartbeated like the
	// others and given back at once when the worker stops.
	Prefetch int
	// BatchSize is the most messages one receive asks for, 1..10 (default 10).
	BatchSize int
	// Pollers is how many receive loops run at once (default
	// ceil(Concurrency/BatchSize), at most 16).
	Pollers int
	// Wait is the long-polling time of a receive, 0..20 s (default 20 s).
	// Set NoWait to poll without waiting.
	Wait   time.Duration
	NoWait bool
	// VisibilityTimeout is asked for on every receive and is what a
	// heartbeat extends a held message by (default 30 s).
	VisibilityTimeout time.Duration
	// HeartbeatInterval is how often held messages are checked and those
	// that would become visible within two intervals extended (default
	// VisibilityTimeout/3).
	HeartbeatInterval time.Duration
	// DeleteDelay is how long a delete may wait for more succeeded messages
	// to fill its batch of 10 (default 0: send what is waiting at once). A
	// few milliseconds cut the delete calls of slow handlers tenfold; a
	// stop flushes at once.
	DeleteDelay time.Duration
	// Timeout bounds one handler call; 0 means no bound.
	Timeout time.Duration
	// Backoff gives the visibility timeout set on a message whose handler
	// failed, from its receive count. Default: ExponentialBackoff(1s, 15m).
	Backoff func(receiveCount int) time.Duration
	// Gate, if set, is waited on before each receive: the runtime takes no
	// message while the handler cannot take it (an HTTP application that is
	// restarting, for example).
	Gate func(ctx context.Context) error
}

// ExponentialBackoff returns base*2^(receiveCount-1), capped at max. A base
// of 0 retries at once.
func ExponentialBackoff(base, max time.Duration) func(int) time.Duration {
	return func(n int) time.Duration {
		d := base
		for i := 1; i < n && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

// SQS's limits, as the queue engine defines them.
const (
	maxBatch      = queue.MaxBatchEntries
	maxWait       = queue.MaxWaitTime
	maxVisibility = queue.MaxVisibilityTimeout
	maxPollers    = 16
)

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.BatchSize == 0 {
		c.BatchSize = maxBatch
	}
	if c.Pollers == 0 {
		held := c.Concurrency + c.Prefetch
		c.Pollers = min(max(1, (held+c.BatchSize-1)/c.BatchSize), maxPollers)
	}
	if c.Wait == 0 && !c.NoWait {
		c.Wait = maxWait
	}
	if c.VisibilityTimeout == 0 {
		c.VisibilityTimeout = 30 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = c.VisibilityTimeout / 3
	}
	if c.Backoff == nil {
		c.Backoff = ExponentialBackoff(time.Second, 15*time.Minute)
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Queue == nil {
		errs = append(errs, errors.New("worker: Queue is required"))
	}
	if c.Handler == nil {
		errs = append(errs, errors.New("worker: Handler is required"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("worker: concurrency %d: must be at least 1", c.Concurrency))
	}
	if c.Prefetch < 0 {
		errs = append(errs, fmt.Errorf("worker: prefetch %d: must not be negative", c.Prefetch))
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatch {
		errs = append(errs, fmt.Errorf("worker: batch size %d: must be 1..%d", c.BatchSize, maxBatch))
	}
	if c.Pollers < 1 || c.Pollers > maxPollers {
		errs = append(errs, fmt.Errorf("worker: pollers %d: must be 1..%d", c.Pollers, maxPollers))
	}
	if c.Wait < 0 || c.Wait > maxWait {
		errs = append(errs, fmt.Errorf("worker: wait %v: must be 0..%v", c.Wait, maxWait))
	}
	if c.VisibilityTimeout < time.Second || c.VisibilityTimeout > maxVisibility {
		errs = append(errs, fmt.Errorf("worker: visibility timeout %v: must be 1s..%v", c.VisibilityTimeout, maxVisibility))
	}
	if c.HeartbeatInterval <= 0 || c.HeartbeatInterval >= c.VisibilityTimeout {
		errs = append(errs, fmt.Errorf("worker: heartbeat interval %v: must be above 0 and below the visibility timeout %v", c.HeartbeatInterval, c.VisibilityTimeout))
	}
	if c.DeleteDelay < 0 || c.DeleteDelay >= c.VisibilityTimeout {
		errs = append(errs, fmt.Errorf("worker: delete delay %v: must be 0 or more and below the visibility timeout", c.DeleteDelay))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("worker: timeout %v: must not be negative", c.Timeout))
	}
	return errors.Join(errs...)
}
