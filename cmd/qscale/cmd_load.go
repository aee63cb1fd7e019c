package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qscale/qscale/bench"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/producer"
)

func init() {
	register(command{name: "load", summary: "generate load on a queue: a steady rate or a burst", run: runLoad})
}

// maxCatchUp bounds how far a rate run catches up after falling behind:
// at most this long's worth of messages go out at once.
const maxCatchUp = time.Second

type loadOptions struct {
	queueTarget
	cfg loadConfig
}

// loadConfig is one load run.
type loadConfig struct {
	queue       string
	rate        float64       // messages per second; 0: burst
	duration    time.Duration // rate runs
	total       int           // messages to send: the burst, or rate × duration
	size        int           // body bytes
	concurrency int
	batch       int
	maxRetries  int           // per message, for throttling and server errors
	callTimeout time.Duration // bound on one send call
}

func parseLoadFlags(args []string, stderr io.Writer) (loadOptions, error) {
	var o loadOptions
	c := &o.cfg
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qscale load --queue NAME|URL (--rate R/s --duration D | --burst N) [flags]\n\nflags:")
		fs.PrintDefaults()
	}
	o.queueTarget.flags(fs)
	rate := fs.String("rate", "", "steady rate: messages per second (`R`, R/s or R/m); needs --duration")
	fs.DurationVar(&c.duration, "duration", 0, "how long a --rate run lasts, e.g. 30s, 5m")
	fs.IntVar(&c.total, "burst", 0, "send `N` messages as fast as possible")
	fs.IntVar(&c.size, "size", 256, "message body size in bytes, 1..1048576")
	fs.IntVar(&c.concurrency, "concurrency", 8, "concurrent send calls")
	fs.IntVar(&c.batch, "batch", 10, "messages per send call, 1..10 (default 10 for a burst; for a rate, rate/10 within 1..10, so that calls go at least 10 times a second)")
	fs.IntVar(&c.maxRetries, "retries", 8, "retries of a throttled or failed send, with backoff")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := o.queueTarget.resolve(); err != nil {
		return o, err
	}
	c.queue = o.queue
	switch {
	case *rate != "" && c.total != 0:
		return o, usagef("--rate and --burst are exclusive: choose a steady rate or a burst")
	case *rate != "":
		r, err := parseRate(*rate)
		if err != nil {
			return o, usagef("--rate %q: %v", *rate, err)
		}
		if c.duration <= 0 {
			return o, usagef("--rate needs --duration (e.g. --rate 100/s --duration 1m)")
		}
		c.rate = r
		n := math.Round(r * c.duration.Seconds())
		if n < 1 || n > math.MaxInt32 {
			return o, usagef("--rate %s for %s is %.0f messages: want 1..%d", *rate, c.duration, n, math.MaxInt32)
		}
		c.total = int(n)
	case c.total > 0:
		if c.duration != 0 {
			return o, usagef("--duration goes with --rate; a --burst ends when its messages are sent")
		}
	case c.total < 0:
		return o, usagef("--burst must be at least 1, not %d", c.total)
	default:
		return o, usagef("choose --rate R/s --duration D, or --burst N")
	}
	batchSet := false
	fs.Visit(func(f *flag.Flag) { batchSet = batchSet || f.Name == "batch" })
	if c.rate > 0 && !batchSet {
		c.batch = min(max(int(c.rate/10), 1), producer.MaxBatch)
	}
	if c.size < 1 || c.size > producer.MaxMessageSize {
		return o, usagef("--size must be 1..%d bytes, not %d", producer.MaxMessageSize, c.size)
	}
	if c.batch < 1 || c.batch > producer.MaxBatch {
		return o, usagef("--batch must be 1..10, not %d", c.batch)
	}
	if c.batch*c.size > producer.MaxMessageSize {
		return o, usagef("--batch %d of --size %d is over SQS's 1 MiB batch limit; lower --batch to %d", c.batch, c.size, producer.MaxMessageSize/c.size)
	}
	if c.concurrency < 1 || c.concurrency > 1024 {
		return o, usagef("--concurrency must be 1..1024, not %d", c.concurrency)
	}
	if c.maxRetries < 0 {
		return o, usagef("--retries must be at least 0, not %d", c.maxRetries)
	}
	c.callTimeout = time.Minute
	return o, nil
}

// parseRate reads R, R/s, R/m or R/min as messages per second.
func parseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(s, "/")
	r, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 {
		return 0, errors.New("want a positive number of messages per second")
	}
	switch unit {
	case "", "s", "sec":
	case "m", "min":
		r /= 60
	default:
		return 0, fmt.Errorf("unit %q: want /s or /m", unit)
	}
	return r, nil
}

func runLoad(ctx context.Context, args []string) error { return loadCommand(ctx, args, osProducerIO()) }

func loadCommand(ctx context.Context, args []string, cio producerIO) error {
	o, err := parseLoadFlags(args, cio.stderr)
	if err != nil {
		return err
	}
	sender, err := o.dial(ctx, o.cfg.concurrency+4, 1, time.Second)
	if err != nil {
		return err
	}
	if _, err := sender.QueueURL(ctx, o.queue); err != nil {
		return o.explain(err)
	}
	every := 5 * time.Second
	if cio.stderrIsTTY {
		every = time.Second
	}
	pr := newProgressPrinter(cio.stderr, cio.stderrIsTTY, o.cfg.total)
	res := runLoadWith(ctx, sender, o.cfg, cio.clock, every, pr.print)
	pr.done()
	res.print(cio.stdout)
	if res.Errors > 0 {
		return fmt.Errorf("%d messages were not sent; first error: %s", res.Errors, o.explain(res.FirstError))
	}
	return nil
}

// loadProgress is a run's state at one moment.
type loadProgress struct {
	Elapsed      time.Duration
	Sent, Errors int64
	Total        int
	Rate         float64 // msg/s since the previous report
}

// loadResult sums up a run.
type loadResult struct {
	Total       int
	Sent        int64
	Errors      int64
	Retries     int64
	Elapsed     time.Duration
	Calls       int           // send calls made
	Latency     bench.Latency // per send call (a sample of them in long runs)
	Batch       int
	Interrupted bool
	FirstError  error
}

func (r loadResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

func (r loadResult) print(w io.Writer) {
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted")
	}
	fmt.Fprintf(w, "sent      %d of %d messages in %.2f s: %.0f msg/s\n", r.Sent, r.Total, r.Elapsed.Seconds(), r.rate())
	fmt.Fprintf(w, "errors    %d (retries %d)\n", r.Errors, r.Retries)
	fmt.Fprintf(w, "latency   p50 %.2f ms, p99 %.2f ms, max %.2f ms (per send call of up to %d messages, %d calls)\n",
		r.Latency.P50, r.Latency.P99, r.Latency.Max, r.Batch, r.Calls)
}

// loader runs one load.
type loader struct {
	cfg    loadConfig
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

// runLoadWith sends cfg.total messages through sender, at cfg.rate when it
// is set. It reports progress every interval when report is not nil. When
// ctx ends it stops dispatching, lets the calls in flight finish, and
// returns what was done.
func runLoadWith(ctx context.Context, sender producer.Sender, cfg loadConfig, clk clock.Clock, every time.Duration, report func(loadProgress)) loadResult {
	l := &loader{cfg: cfg, sender: sender, clk: clk, pad: strings.Repeat("x", cfg.size)}
	start := clk.Now()
	jobs := make(chan int)
	go l.dispatch(ctx, start, jobs)

	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				l.sendBatch(ctx, n)
			}
		}()
	}
	finished := make(chan struct{})
	progressDone := make(chan struct{})
	if report != nil {
		go l.progress(start, every, report, finished, progressDone)
	} else {
		close(progressDone)
	}
	wg.Wait()
	close(finished)
	<-progressDone

	l.mu.Lock()
	defer l.mu.Unlock()
	return loadResult{
		Total: cfg.total, Sent: l.sent.Load(), Errors: l.errors.Load(), Retries: l.retries.Load(),
		Elapsed: clk.Now().Sub(start), Calls: l.calls, Latency: bench.Percentiles(l.latencies), Batch: cfg.batch,
		Interrupted: ctx.Err() != nil, FirstError: l.firstErr,
	}
}

// dispatch hands out batches (their sizes) to the senders: as fast as they
// take them for a burst, through a token bucket for a rate run.
func (l *loader) dispatch(ctx context.Context, start time.Time, jobs chan<- int) {
	defer close(jobs)
	var bucket *tokenBucket
	var deadline time.Time
	if l.cfg.rate > 0 {
		bucket = newTokenBucket(l.cfg.rate, l.cfg.batch, start)
		deadline = start.Add(l.cfg.duration)
	}
	for done := 0; done < l.cfg.total; {
		n := min(l.cfg.batch, l.cfg.total-done)
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

func (l *loader) message() producer.Message {
	body := "qscale load " + strconv.FormatInt(l.seq.Add(1), 10) + " "
	if len(body) >= l.cfg.size {
		body = body[:l.cfg.size]
	} else {
		body += l.pad[:l.cfg.size-len(body)]
	}
	return producer.Message{Body: body}
}

// sendBatch sends n messages, retrying throttled and failed ones with
// backoff. A call already made finishes even when ctx ends; no retry
// starts after it ends.
func (l *loader) sendBatch(ctx context.Context, n int) {
	pending := make([]producer.Message, n)
	for i := range pending {
		pending[i] = l.message()
	}
	for attempt := 0; ; attempt++ {
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.callTimeout)
		t0 := l.clk.Now()
		res, err := l.sender.Send(callCtx, l.cfg.queue, pending)
		took := l.clk.Now().Sub(t0)
		cancel()
		l.recordLatency(took)

		mayRetry := attempt < l.cfg.maxRetries && ctx.Err() == nil
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

// progress reports every interval until finished is closed.
func (l *loader) progress(start time.Time, every time.Duration, report func(loadProgress), finished <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	var lastSent int64
	last := start
	for {
		t := l.clk.NewTimer(every)
		select {
		case <-finished:
			t.Stop()
			return
		case now := <-t.C():
			sent := l.sent.Load()
			p := loadProgress{Elapsed: now.Sub(start), Sent: sent, Errors: l.errors.Load(), Total: l.cfg.total}
			if dt := now.Sub(last).Seconds(); dt > 0 {
				p.Rate = float64(sent-lastSent) / dt
			}
			lastSent, last = sent, now
			report(p)
		}
	}
}

// progressPrinter shows progress on stderr: one updating line on a
// terminal, a plain line per report otherwise.
type progressPrinter struct {
	w     io.Writer
	live  bool
	total int
	shown bool
}

func newProgressPrinter(w io.Writer, live bool, total int) *progressPrinter {
	return &progressPrinter{w: w, live: live, total: total}
}

func (p *progressPrinter) print(s loadProgress) {
	line := fmt.Sprintf("%6.1fs  sent %d/%d  %.0f msg/s  errors %d", s.Elapsed.Seconds(), s.Sent, s.Total, s.Rate, s.Errors)
	if p.live {
		fmt.Fprint(p.w, "\r\033[K"+line)
		p.shown = true
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progressPrinter) done() {
	if p.live && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// tokenBucket paces a rate run. It fills at rate tokens per second up to
// capacity (one batch, or maxCatchUp of tokens when that is more), and
// starts with one batch's worth.
type tokenBucket struct {
	rate     float64
	capacity float64
	tokens   float64
	last     time.Time
}

func newTokenBucket(rate float64, batch int, now time.Time) *tokenBucket {
	return &tokenBucket{
		rate:     rate,
		capacity: max(float64(batch), rate*maxCatchUp.Seconds()),
		tokens:   float64(batch),
		last:     now,
	}
}

// take takes n tokens and returns 0 when there are enough at now;
// otherwise it takes none and returns how long until there will be.
func (b *tokenBucket) take(now time.Time, n int) time.Duration {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.capacity, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
	need := float64(n)
	if b.tokens >= need-1e-9 {
		b.tokens = max(0, b.tokens-need)
		return 0
	}
	return time.Duration(math.Ceil((need - b.tokens) / b.rate * float64(time.Second)))
}
