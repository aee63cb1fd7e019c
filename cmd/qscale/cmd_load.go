package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/producer/loadgen"
	"github.com/qscale/qscale/sqsconn"
)

type loadOptions struct {
	queueTarget
	cfg loadgen.Config
}

func parseLoadFlags(ctx context.Context, args []string, stderr io.Writer) (loadOptions, error) {
	var o loadOptions
	c := &o.cfg
	fs := newFlags("load", `Sends a steady rate of messages for a while, or a burst as fast as it can. Without
--endpoint-url or a queue URL, the queue is on the local server, `+sqsconn.DefaultEndpoint+`.`, "qscale load --queue NAME|URL (--rate R/s --duration D | --burst N) [flags]")
	o.queueTarget.flags(fs)
	fs.group("Load")
	rate := fs.String("rate", "", "steady rate: messages per second (`R`, R/s or R/m); needs --duration")
	fs.DurationVar(&c.Duration, "duration", 0, "how long a --rate run lasts, e.g. 30s, 5m")
	fs.IntVar(&c.Total, "burst", 0, "send `N` messages as fast as possible")
	fs.IntVar(&c.Size, "size", 256, "message body size in bytes, 1..1048576")
	fs.group("Sending")
	fs.IntVar(&c.Concurrency, "concurrency", 8, "concurrent send calls")
	fs.IntVar(&c.Batch, "batch", 10, "messages per send call, 1..10 (default 10 for a burst; for a rate, rate/10 within 1..10, so that calls go at least 10 times a second)")
	fs.IntVar(&c.MaxRetries, "retries", 8, "retries of a throttled or failed send, with backoff")
	if err := fs.parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := o.queueTarget.check(ctx); err != nil {
		return o, err
	}
	c.Queue = o.queue
	switch {
	case *rate != "" && c.Total != 0:
		return o, usagef("--rate and --burst are exclusive: choose a steady rate or a burst")
	case *rate != "":
		r, err := parseRate(*rate)
		if err != nil {
			return o, usagef("--rate %q: %v", *rate, err)
		}
		if c.Duration <= 0 {
			return o, usagef("--rate needs --duration (e.g. --rate 100/s --duration 1m)")
		}
		c.Rate = r
		n := math.Round(r * c.Duration.Seconds())
		if n < 1 || n > math.MaxInt32 {
			return o, usagef("--rate %s for %s is %.0f messages: want 1..%d", *rate, c.Duration, n, math.MaxInt32)
		}
		c.Total = int(n)
	case c.Total > 0:
		if c.Duration != 0 {
			return o, usagef("--duration goes with --rate; a --burst ends when its messages are sent")
		}
	case c.Total < 0:
		return o, usagef("--burst must be at least 1, not %d", c.Total)
	default:
		return o, usagef("choose --rate R/s --duration D, or --burst N")
	}
	batchSet := false
	fs.Visit(func(f *flag.Flag) { batchSet = batchSet || f.Name == "batch" })
	if c.Rate > 0 && !batchSet {
		c.Batch = min(max(int(c.Rate/10), 1), producer.MaxBatch)
	}
	if err := c.Validate(); err != nil {
		return o, usagef("%v", err)
	}
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

// loadCommand runs loadgen.Run over a sender to the queue, with a progress
// display on stderr and a summary on stdout.
func loadCommand(ctx context.Context, args []string, cio producerIO) error {
	o, err := parseLoadFlags(ctx, args, cio.stderr)
	if err != nil {
		return err
	}
	sender, err := o.dial(ctx, o.cfg.Concurrency+4, 1, time.Second)
	if err != nil {
		return err
	}
	if _, err := sender.QueueURL(ctx, o.queue); err != nil {
		return o.explain(err)
	}
	fmt.Fprintf(cio.stdout, "endpoint  %s\n", o.where)
	o.cfg.Clock = cio.clock
	o.cfg.ProgressEvery = 5 * time.Second
	if cio.stderrIsTTY {
		o.cfg.ProgressEvery = time.Second
	}
	pr := &progressPrinter{w: cio.stderr, live: cio.stderrIsTTY}
	o.cfg.Progress = pr.print
	res, err := loadgen.Run(ctx, sender, o.cfg)
	pr.done()
	if err != nil {
		return err
	}
	printLoad(cio.stdout, res)
	if res.Errors > 0 {
		return fmt.Errorf("%d messages were not sent; first error: %s", res.Errors, o.explain(res.FirstError))
	}
	return nil
}

func printLoad(w io.Writer, r loadgen.Result) {
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted")
	}
	fmt.Fprintf(w, "sent      %d of %d messages in %.2f s: %.0f msg/s\n", r.Sent, r.Total, r.Elapsed.Seconds(), r.Rate())
	fmt.Fprintf(w, "errors    %d (retries %d)\n", r.Errors, r.Retries)
	fmt.Fprintf(w, "latency   p50 %.2f ms, p99 %.2f ms, max %.2f ms (per send call of up to %d messages, %d calls)\n",
		r.Latency.P50, r.Latency.P99, r.Latency.Max, r.Batch, r.Calls)
}

// progressPrinter shows progress on stderr: one updating line on a
// terminal, a plain line per report otherwise.
type progressPrinter struct {
	w     io.Writer
	live  bool
	shown bool
}

func (p *progressPrinter) print(s loadgen.Progress) {
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
