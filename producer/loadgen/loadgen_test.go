package loadgen_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/producer/loadgen"
	"github.com/qscale/qscale/producer/sqssender"
	"github.com/qscale/qscale/sqsconn"
)

// loadSetup starts a queue server with one queue and returns a sender to
// it, the queue's URL and an SDK client to check what arrived.
func loadSetup(t *testing.T, queue string) (*sqssender.Sender, string, *sqs.Client) {
	t.Helper()
	endpoint := testserver.Start(t)
	sender, _, err := sqssender.Dial(t.Context(), sqsconn.Options{Endpoint: endpoint, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	api, _, err := sqsconn.New(t.Context(), sqsconn.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(queue)})
	if err != nil {
		t.Fatal(err)
	}
	return sender, aws.ToString(out.QueueUrl), api
}

func visible(t *testing.T, api *sqs.Client, url string) int {
	t.Helper()
	out, err := api.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	return n
}

// driveClock advances clk in steps while the load waits on it, until the
// run ends. busy is how many timers are pending while the load is not
// waiting on its rate (its progress timer).
func driveClock(t *testing.T, clk *clock.Fake, busy int, step time.Duration, done <-chan struct{}, onAdvance func()) {
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
		case <-done:
			return
		case <-created:
		case <-t.Context().Done():
			t.Fatal("test ended before the load did")
		}
	}
}

func TestLoadBurst(t *testing.T) {
	t.Parallel()
	sender, q, api := loadSetup(t, "burst")
	res, err := loadgen.Run(t.Context(), sender, loadgen.Config{Queue: "burst", Total: 1005, Size: 100, Concurrency: 4, Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 1005 || res.Errors != 0 || res.Calls != 101 || res.Latency.Count != 101 || res.Interrupted {
		t.Fatalf("result %+v; want 1005 sent in 101 calls", res)
	}
	if v := visible(t, api, q); v != 1005 {
		t.Fatalf("visible %d, want 1005", v)
	}
}

// A rate run sends rate × duration messages, no faster than the rate: on
// the fake clock, the run takes exactly as long as the token bucket allows,
// and progress comes every ProgressEvery.
func TestLoadRate(t *testing.T) {
	t.Parallel()
	sender, q, api := loadSetup(t, "paced")
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	var reports []loadgen.Progress
	cfg := loadgen.Config{Queue: "paced", Rate: 50, Duration: 12 * time.Second, Total: 600, Size: 64, Concurrency: 8, Batch: 10,
		Clock: clk, ProgressEvery: 5 * time.Second, Progress: func(p loadgen.Progress) { reports = append(reports, p) }}
	done := make(chan struct{})
	var res loadgen.Result
	var err error
	go func() {
		defer close(done)
		res, err = loadgen.Run(t.Context(), sender, cfg)
	}()
	// One timer is the progress reporter's; a second is the rate's.
	driveClock(t, clk, 1, 20*time.Millisecond, done, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := visible(t, api, q); v != 600 {
		t.Fatalf("visible %d, want 600 (50/s for 12 s)", v)
	}
	// The first batch goes at once; each next one 10/50 s later.
	if res.Sent != 600 || res.Elapsed < 11800*time.Millisecond || res.Elapsed > 11850*time.Millisecond {
		t.Fatalf("sent %d in %v; want 600 in 11.80 s", res.Sent, res.Elapsed)
	}
	if len(reports) != 2 || reports[0].Elapsed != 5*time.Second || reports[1].Total != 600 || reports[1].Sent < reports[0].Sent {
		t.Fatalf("progress %+v; want reports at 5 s and 10 s", reports)
	}
}

// When ctx ends the run stops cleanly: what was sent is reported and is in
// the queue.
func TestLoadInterrupt(t *testing.T) {
	t.Parallel()
	sender, q, api := loadSetup(t, "stopped")
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	var res loadgen.Result
	go func() {
		defer close(done)
		res, _ = loadgen.Run(ctx, sender, loadgen.Config{Queue: "stopped", Rate: 100, Duration: time.Hour, Total: 360000,
			Size: 32, Concurrency: 8, Batch: 10, Clock: clk})
	}()
	start := clk.Now()
	driveClock(t, clk, 0, 50*time.Millisecond, done, func() {
		if clk.Now().Sub(start) >= 2*time.Second {
			cancel()
		}
	})
	if v := visible(t, api, q); !res.Interrupted || v != int(res.Sent) || res.Sent < 200 || res.Sent > 210 {
		t.Fatalf("visible %d, result %+v; want about 2 s at 100/s", v, res)
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
	sender, q, api := loadSetup(t, "flaky")
	flaky := &flakySender{next: sender}
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	cfg := loadgen.Config{Queue: "flaky", Total: 500, Size: 32, Concurrency: 4, Batch: 10, MaxRetries: 8, Clock: clk}
	done := make(chan struct{})
	var res loadgen.Result
	go func() {
		defer close(done)
		res, _ = loadgen.Run(t.Context(), flaky, cfg)
	}()
	driveClock(t, clk, 0, 10*time.Second, done, nil) // only backoffs wait on the clock
	if res.Sent != 500 || res.Errors != 0 || res.Retries == 0 {
		t.Fatalf("sent %d, errors %d, retries %d; want 500, 0, some", res.Sent, res.Errors, res.Retries)
	}
	if v := visible(t, api, q); v != 500 {
		t.Fatalf("visible %d, want 500", v)
	}
	// With no retries allowed, the failures are counted and reported.
	cfg.MaxRetries = 0
	res, err := loadgen.Run(t.Context(), flaky, cfg)
	if err != nil || res.Errors == 0 || res.Sent+res.Errors != 500 || res.FirstError == nil {
		t.Fatalf("no retries: sent %d, errors %d, first %v, err %v", res.Sent, res.Errors, res.FirstError, err)
	}
}

func TestConfigRejects(t *testing.T) {
	t.Parallel()
	ok := loadgen.Config{Queue: "q", Total: 10, Size: 10, Concurrency: 1, Batch: 10}
	for name, change := range map[string]func(*loadgen.Config){
		"no queue":         func(c *loadgen.Config) { c.Queue = "" },
		"no messages":      func(c *loadgen.Config) { c.Total = 0 },
		"rate, no time":    func(c *loadgen.Config) { c.Rate = 5 },
		"negative rate":    func(c *loadgen.Config) { c.Rate, c.Duration = -1, time.Second },
		"empty body":       func(c *loadgen.Config) { c.Size = 0 },
		"batch 11":         func(c *loadgen.Config) { c.Batch = 11 },
		"over 1 MiB":       func(c *loadgen.Config) { c.Size = 200_000 },
		"concurrency 0":    func(c *loadgen.Config) { c.Concurrency = 0 },
		"negative retries": func(c *loadgen.Config) { c.MaxRetries = -1 },
	} {
		c := ok
		change(&c)
		if _, err := loadgen.Run(t.Context(), nil, c); err == nil {
			t.Errorf("%s: accepted %+v", name, c)
		}
	}
}
