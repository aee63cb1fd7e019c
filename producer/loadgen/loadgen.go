// Package loadgen is qscale's load generator: it sends messages through a
// producer.Sender at a steady rate or as a burst, retrying throttled and
// failed messages with backoff, and measures each send call. qscale load is
// a thin command over it; qscale bench's throughput runs send with it.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/latency"
	"github.com/qscale/qscale/producer"
)

// Config is one load run: Total messages sent through a
// producer.Sender, at Rate messages per second for a steady load, or as
// fast as Concurrency calls go for a burst.
type Config struct {
	Queue       string        // queue name or URL
	Rate        float64       // messages per second; 0: a burst
	Duration    time.Duration // how long a rate run lasts at most
	Total       int           // messages to send: the burst, or rate × duration
	Size        int           // body bytes, 1..1 MiB
	Concurrency int           // send calls at once
	Batch       int           // messages per send call, 1..10
	MaxRetries  int           // per message, for throttling and server errors
	CallTimeout time.Duration // bound on one send call (default 1 minute)
	// Progress, when set, is called every ProgressEvery (default 1 s).
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Clock paces the run (default the real one).
	Clock clock.Clock
	// Body, when set, makes the body of message seq (0, 1, ...) sent at
	// at; default "qscale load <seq+1> " padded with x to Size bytes.
	Body func(seq int, at time.Time) string
}

// MaxCatchUp bounds how far a rate run catches up after falling behind:
// at most this long's worth of messages go out at once.
const MaxCatchUp = time.Second

// Validate checks cfg and fills its defaults.
func (c *Config) Validate() error {
	if c.CallTimeout == 0 {
		c.CallTimeout = time.Minute
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	switch {
	case c.Queue == "":
		return errors.New("no queue")
	case c.Total < 1:
		return fmt.Errorf("messages to send must be at least 1, not %d", c.Total)
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("rate must be a positive number of messages per second, not %v", c.Rate)
	case c.Rate > 0 && c.Duration <= 0:
		return errors.New("a rate needs a duration")
	case c.Size < 1 || c.Size > producer.MaxMessageSize:
		return fmt.Errorf("size must be 1..%d bytes, not %d", producer.MaxMessageSize, c.Size)
	case c.Batch < 1 || c.Batch > producer.MaxBatch:
		return fmt.Errorf("batch must be 1..%d, not %d", producer.MaxBatch, c.Batch)
	case c.Batch*c.Size > producer.MaxMessageSize:
		return fmt.Errorf("a batch of %d messages of %d bytes is over SQS's 1 MiB batch limit; at most %d of them fit", c.Batch, c.Size, producer.MaxMessageSize/c.Size)
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return fmt.Errorf("concurrency must be 1..1024, not %d", c.Concurrency)
	case c.MaxRetries < 0:
		return fmt.Errorf("retries must be at least 0, not %d", c.MaxRetries)
	}
	return nil
}

// Progress is a load run's state at one moment.
type Progress struct {
	Elapsed      time.Duration
	Sent, Errors int64
	Total        int
	Rate         float64 // msg/s since the previous report
}

// Result sums up a load run.
type Result struct {
	Total       int
	Sent        int64
	Errors      int64
	Retries     int64
	Elapsed     time.Duration
	Calls       int             // send calls made
	Latency     latency.Summary // per send call (a uniform sample of them in long runs)
	Batch       int
	Interrupted bool  // the context ended the run
	FirstError  error // of the messages that were not sent
}

// Rate is the messages sent per second of the run.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// Run sends cfg.Total messages through sender, at cfg.Rate when it is
// set, retrying throttled and failed messages with backoff. When ctx ends
// it stops dispatching, lets the calls in flight finish, and returns what
// was done.
func Run(ctx context.Context, sender producer.Sender, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	clk := cfg.Clock
	l := &loader{cfg: cfg, sender: sender, clk: clk, pad: strings.Repeat("x", cfg.Size)}
	start := clk.Now()
	jobs := make(chan int)
	go l.dispatch(ctx, start, jobs)

	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for n := range jobs {
				l.sendBatch(ctx, n)
			}
		})
	}
	finished := make(chan struct{})
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		go l.progress(start, finished, progressDone)
	} else {
		close(progressDone)
	}
	wg.Wait()
	close(finished)
	<-progressDone

	l.mu.Lock()
	defer l.mu.Unlock()
	return Result{
		Total: cfg.Total, Sent: l.sent.Load(), Errors: l.errors.Load(), Retries: l.retries.Load(),
		Elapsed: clk.Now().Sub(start), Calls: l.calls, Latency: latency.Percentiles(l.latencies), Batch: cfg.Batch,
		Interrupted: ctx.Err() != nil, FirstError: l.firstErr,
	}, nil
}

// loader runs one load.
type loader struct {
	cfg    Config
	sender producer.Sender
	clk    clock.Clock
	pad    string

	seq                   atomic.Int64
	sent, errors, retries atomic.Int64
	mu                    sync.Mutex      // guards calls, latencies and firstErr
	calls                 int             // send calls made
	latencies             []time.Duration // a uniform sample of at most maxLatencySamples calls
	firstErr              error
}

// maxLatencySamples bounds the memory a long run spends on latencies.
const maxLatencySamples = 200_000

// recordLatency keeps d in a reservoir sample of every call's latency.
func (l *loader) recordLatency(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if len(l.latencies) < maxLatencySamples {
		l.latencies = append(l.latencies, d)
	} else if i := rand.IntN(l.calls); i < maxLatencySamples {
		l.latencies[i] = d
	}
}

// dispatch hands out batches (their sizes) to the senders: as fast as they
// take them for a burst, through a token bucket for a rate run.
func (l *loader) dispatch(ctx context.Context, start time.Time, jobs chan<- int) {
	defer close(jobs)
	var bucket *tokenBucket
	var deadline time.Time
	if l.cfg.Rate > 0 {
		bucket = newTokenBucket(l.cfg.Rate, l.cfg.Batch, start)
		deadline = start.Add(l.cfg.Duration)
	}
	for done := 0; done < l.cfg.Total; {
		n := min(l.cfg.Batch, l.cfg.Total-done)
		for bucket != nil {
			now := l.clk.Now()
			if !now.Before(deadline) {
				return
			}
			wait := bucket.take(now, n)
			if wait == 0 {
				break
			}
			if !l.sleep(ctx, min(wait, deadline.Sub(now))) {
				return
			}
		}
		select {
		case jobs <- n:
			done += n
		case <-ctx.Done():
			return
		}
	}
}

// sleep waits d on the clock; false when ctx ended first.
func (l *loader) sleep(ctx context.Context, d time.Duration) bool {
	t := l.clk.NewTimer(d)
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

func (l *loader) message(at time.Time) producer.Message {
	seq := l.seq.Add(1)
	if l.cfg.Body != nil {
		return producer.Message{Body: l.cfg.Body(int(seq-1), at)}
	}
	body := "qscale load " + strconv.FormatInt(seq, 10) + " "
	if len(body) >= l.cfg.Size {
		body = body[:l.cfg.Size]
	} else {
		body += l.pad[:l.cfg.Size-len(body)]
	}
	return producer.Message{Body: body}
}

// sendBatch sends n messages, retrying throttled and failed ones with
// backoff. A call already made finishes even when ctx ends; no retry
// starts after it ends.
func (l *loader) sendBatch(ctx context.Context, n int) {
	pending := make([]producer.Message, n)
	now := l.clk.Now()
	for i := range pending {
		pending[i] = l.message(now)
	}
	for attempt := 0; ; attempt++ {
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.CallTimeout)
		t0 := l.clk.Now()
		res, err := l.sender.Send(callCtx, l.cfg.Queue, pending)
		took := l.clk.Now().Sub(t0)
		cancel()
		l.recordLatency(took)

		mayRetry := attempt < l.cfg.MaxRetries && ctx.Err() == nil
		var again []producer.Message
		if err != nil {
			if !mayRetry || !retryable(err) {
				l.fail(len(pending), err)
				return
			}
			again = pending
		} else {
			for i, r := range res {
				switch {
				case r.Err == nil:
					l.sent.Add(1)
				case mayRetry && r.Err.Retryable():
					again = append(again, pending[i])
				default:
					l.fail(1, r.Err)
				}
			}
		}
		if len(again) == 0 {
			return
		}
		l.retries.Add(int64(len(again)))
		if !l.sleep(ctx, backoff(attempt)) {
			l.fail(len(again), ctx.Err())
			return
		}
		pending = again
	}
}

func retryable(err error) bool {
	var pe *producer.Error
	return errors.As(err, &pe) && pe.Retryable()
}

// backoff is the wait before retry attempt+1: exponential from 50 ms, at
// most 5 s, with full jitter.
func backoff(attempt int) time.Duration {
	d := min(50*time.Millisecond<<min(attempt, 10), 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

func (l *loader) fail(n int, err error) {
	l.errors.Add(int64(n))
	l.mu.Lock()
	if l.firstErr == nil {
		l.firstErr = err
	}
	l.mu.Unlock()
}

// progress reports every cfg.ProgressEvery until finished is closed.
func (l *loader) progress(start time.Time, finished <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	var lastSent int64
	last := start
	for {
		t := l.clk.NewTimer(l.cfg.ProgressEvery)
		select {
		case <-finished:
			t.Stop()
			return
		case now := <-t.C():
			sent := l.sent.Load()
			p := Progress{Elapsed: now.Sub(start), Sent: sent, Errors: l.errors.Load(), Total: l.cfg.Total}
			if dt := now.Sub(last).Seconds(); dt > 0 {
				p.Rate = float64(sent-lastSent) / dt
			}
			lastSent, last = sent, now
			l.cfg.Progress(p)
		}
	}
}
