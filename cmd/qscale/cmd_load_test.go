package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/producer"
)

// The seeds' scenario, smaller: a burst, every message in the queue.
func TestLoadBurst(t *testing.T) {
	t.Parallel()
	endpoint, q, api := producerSetup(t, "demo", nil)
	tio := newProducerTestIO("", clock.Real{})
	err := loadCommand(t.Context(), []string{"--queue", "demo", "--endpoint-url", endpoint, "--burst", "1005", "--size", "100", "--concurrency", "4"}, tio.producerIO)
	if err != nil {
		t.Fatalf("load: %v (stderr %s)", err, tio.errOut)
	}
	if v, _ := queueCounts(t, api, q); v != 1005 {
		t.Fatalf("visible %d, want 1005", v)
	}
	out := tio.out.String()
	for _, want := range []string{"sent      1005 of 1005 messages", "errors    0 (retries 0)", "latency   p50 ", "101 calls"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// driveClock advances clk in steps while the load waits on it, until the
// run ends. busy is how many timers are pending while the load is not
// waiting on its rate (its progress timer). It returns the run's error.
func driveClock(t *testing.T, clk *clock.Fake, busy int, step time.Duration, done <-chan error, onAdvance func()) error {
	t.Helper()
	for {
		created := clk.TimerCreated()
		if clk.Pending() > busy {
			clk.Advance(step)
			if onAdvance != nil {
				onAdvance()
			}
			continue
		}
		select {
		case err := <-done:
			return err
		case <-created:
		case <-t.Context().Done():
			t.Fatal("test ended before the load did")
		}
	}
}

// A rate run sends rate × duration messages, no faster than the rate: on
// the fake clock, the run takes exactly as long as the token bucket allows.
func TestLoadRate(t *testing.T) {
	t.Parallel()
	endpoint, q, api := producerSetup(t, "paced", nil)
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	tio := newProducerTestIO("", clk)
	done := make(chan error, 1)
	go func() {
		done <- loadCommand(t.Context(), []string{"--queue", "paced", "--endpoint-url", endpoint,
			"--rate", "50/s", "--duration", "12s", "--batch", "10", "--size", "64"}, tio.producerIO)
	}()
	// One timer is the progress display's; a second is the rate's.
	if err := driveClock(t, clk, 1, 20*time.Millisecond, done, nil); err != nil {
		t.Fatalf("load: %v (stderr %s)", err, tio.errOut)
	}
	if v, _ := queueCounts(t, api, q); v != 600 {
		t.Fatalf("visible %d, want 600 (50/s for 12 s)", v)
	}
	// The first batch goes at once; each next one 10/50 s later.
	var sent, total int
	var secs float64
	if _, err := fmt.Sscanf(tio.out.String(), "sent      %d of %d messages in %f s", &sent, &total, &secs); err != nil {
		t.Fatalf("summary %q: %v", tio.out, err)
	}
	if sent != 600 || total != 600 || secs < 11.8 || secs > 11.85 {
		t.Fatalf("sent %d of %d in %.2f s; want 600 in 11.80 s", sent, total, secs)
	}
	// Plain progress lines (stderr is no terminal) every 5 s.
	lines := strings.Split(strings.TrimSpace(tio.errOut.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "5.0s  sent ") || !strings.Contains(lines[1], "/600") || strings.Contains(tio.errOut.String(), "\r") {
		t.Fatalf("progress %q", tio.errOut)
	}
}

// Ctrl-C stops the run cleanly: what was sent is reported and is in the queue.
func TestLoadInterrupt(t *testing.T) {
	t.Parallel()
	endpoint, q, api := producerSetup(t, "stopped", nil)
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	tio := newProducerTestIO("", clk)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- loadCommand(ctx, []string{"--queue", "stopped", "--endpoint-url", endpoint, "--rate", "100", "--duration", "1h"}, tio.producerIO)
	}()
	start := clk.Now()
	err := driveClock(t, clk, 1, 50*time.Millisecond, done, func() {
		if clk.Now().Sub(start) >= 2*time.Second {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("interrupted load: %v", err)
	}
	var sent, total int
	out := tio.out.String()
	if _, err := fmt.Sscanf(out, "interrupted\nsent      %d of %d", &sent, &total); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if v, _ := queueCounts(t, api, q); v != sent || sent < 200 || sent > 210 || total != 360000 {
		t.Fatalf("visible %d, reported %d of %d; want about 2 s at 100/s", v, sent, total)
	}
}

// flakySender fails some calls (503) and throttles some entries (429) of
// a real sender, for the retry path.
type flakySender struct {
	next  producer.Sender
	calls atomic.Int64
}

func (f *flakySender) Send(ctx context.Context, queue string, msgs []producer.Message) ([]producer.Result, error) {
	n := f.calls.Add(1)
	if n%3 == 0 {
		return nil, &producer.Error{Status: 503, Code: producer.CodeServiceUnavailable, Message: "try later"}
	}
	if n%5 == 0 && len(msgs) > 1 {
		res, err := f.next.Send(ctx, queue, msgs[1:])
		if err != nil {
			return nil, err
		}
		throttled := producer.Result{Err: &producer.Error{Status: 429, Code: "RequestThrottled", Message: "slow down"}}
		return append([]producer.Result{throttled}, res...), nil
	}
	return f.next.Send(ctx, queue, msgs)
}

func TestLoadRetriesThrottlingAndServerErrors(t *testing.T) {
	t.Parallel()
	endpoint, q, api := producerSetup(t, "flaky", nil)
	tg := queueTarget{queue: "flaky", endpoint: endpoint}
	sender, err := tg.dial(t.Context(), 8, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	flaky := &flakySender{next: sender}
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	cfg := loadConfig{queue: "flaky", total: 500, size: 32, concurrency: 4, batch: 10, maxRetries: 8, callTimeout: time.Minute}
	done := make(chan error, 1)
	var res loadResult
	go func() {
		res = runLoadWith(t.Context(), flaky, cfg, clk, time.Second, nil)
		done <- nil
	}()
	driveClock(t, clk, 0, 10*time.Second, done, nil) // only backoffs wait on the clock
	if res.Sent != 500 || res.Errors != 0 || res.Retries == 0 {
		t.Fatalf("sent %d, errors %d, retries %d; want 500, 0, some", res.Sent, res.Errors, res.Retries)
	}
	if v, _ := queueCounts(t, api, q); v != 500 {
		t.Fatalf("visible %d, want 500", v)
	}
	// With no retries allowed, the failures are counted and reported.
	cfg.maxRetries = 0
	res = runLoadWith(t.Context(), flaky, cfg, clk, time.Second, nil)
	if res.Errors == 0 || res.Sent+res.Errors != 500 || res.FirstError == nil {
		t.Fatalf("no retries: sent %d, errors %d, first %v", res.Sent, res.Errors, res.FirstError)
	}
}

func TestLoadUnknownQueue(t *testing.T) {
	t.Parallel()
	endpoint, _, _ := producerSetup(t, "demo", nil)
	tio := newProducerTestIO("", clock.Real{})
	err := loadCommand(t.Context(), []string{"--queue", "nope", "--endpoint-url", endpoint, "--burst", "10"}, tio.producerIO)
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), `queue "nope" does not exist`) {
		t.Fatalf("err %v", err)
	}
}

func TestLoadBadFlags(t *testing.T) {
	t.Parallel()
	bad := [][]string{
		{"--burst", "10"}, // no queue
		{"--queue", "q"},  // no mode
		{"--queue", "q", "--burst", "10", "--rate", "5"},
		{"--queue", "q", "--rate", "5"}, // no duration
		{"--queue", "q", "--rate", "fast", "--duration", "1s"},
		{"--queue", "q", "--rate", "-5", "--duration", "1s"},
		{"--queue", "q", "--rate", "5/h", "--duration", "1s"},
		{"--queue", "q", "--rate", "0.1", "--duration", "1s"}, // no whole message
		{"--queue", "q", "--burst", "-1"},
		{"--queue", "q", "--burst", "10", "--duration", "1s"},
		{"--queue", "q", "--burst", "10", "--batch", "11"},
		{"--queue", "q", "--burst", "10", "--batch", "0"},
		{"--queue", "q", "--burst", "10", "--size", "0"},
		{"--queue", "q", "--burst", "10", "--size", "1048577"},
		{"--queue", "q", "--burst", "10", "--size", "200000"}, // 10 × 200 kB is over the batch limit
		{"--queue", "q", "--burst", "10", "--concurrency", "0"},
		{"--queue", "q", "--burst", "10", "extra"},
	}
	for _, args := range bad {
		_, err := parseLoadFlags(args, &bytes.Buffer{})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	o, err := parseLoadFlags([]string{"--queue", "q", "--rate", "600/m", "--duration", "30s"}, &bytes.Buffer{})
	// 10/s goes one message a call, ten calls a second.
	if err != nil || o.cfg.rate != 10 || o.cfg.total != 300 || o.cfg.batch != 1 || o.endpoint == "" {
		t.Fatalf("options %+v, endpoint %q, err %v", o.cfg, o.endpoint, err)
	}
	o, err = parseLoadFlags([]string{"--queue", "q", "--burst", "7"}, &bytes.Buffer{})
	if err != nil || o.cfg.batch != 10 || o.cfg.total != 7 {
		t.Fatalf("burst options %+v, err %v", o.cfg, err)
	}
}

// The token bucket never lets more than one batch plus rate × t through
// by time t, keeps up with the rate, and catches up at most maxCatchUp's
// worth after a stall.
func TestTokenBucket(t *testing.T) {
	t.Parallel()
	start := time.Unix(0, 0)
	const rate, batch = 1000.0, 10
	b := newTokenBucket(rate, batch, start)
	taken := 0
	step := 700 * time.Microsecond
	for now := start; now.Sub(start) <= 10*time.Second; now = now.Add(step) {
		for b.take(now, batch) == 0 {
			taken += batch
		}
		el := now.Sub(start).Seconds()
		if float64(taken) > batch+rate*el+1e-6 {
			t.Fatalf("at %.4f s: %d taken, over %v", el, taken, batch+rate*el)
		}
		if float64(taken) < rate*el-batch {
			t.Fatalf("at %.4f s: %d taken, behind %v", el, taken, rate*el)
		}
	}
	// The wait it names is enough and not more than needed.
	now := start.Add(20 * time.Second)
	for b.take(now, batch) == 0 {
	}
	wait := b.take(now, batch)
	if b.take(now.Add(wait-time.Microsecond), batch) == 0 {
		t.Fatalf("tokens before the wait of %v was over", wait)
	}
	if b.take(now.Add(wait), batch) != 0 {
		t.Fatalf("no tokens after the wait of %v", wait)
	}
	// After a stall of a minute, at most a second's worth goes at once.
	now = now.Add(time.Minute)
	burst := 0
	for b.take(now, batch) == 0 {
		burst += batch
	}
	if burst != int(rate*maxCatchUp.Seconds()) {
		t.Fatalf("caught up %d at once, want %v", burst, rate*maxCatchUp.Seconds())
	}
	// A slow rate still moves in whole batches.
	slow := newTokenBucket(2, batch, start)
	if slow.take(start, batch) != 0 || slow.take(start, batch) != 5*time.Second {
		t.Fatal("a batch of 10 at 2/s comes every 5 s")
	}
}
