package up

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/worker"
)

// The engine's dead-letter reader names the queue's dead-letter queue from
// its RedrivePolicy, counts the engine's moves and reads the dead-letter
// queue's depth; the watch carries them into its report.
func TestEngineDeadLetters(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Unix(1_000_000, 0))
	e, err := queue.Open(t.Context(), queue.Options{Clock: clk, Store: queue.MemoryStore{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	if _, err := e.CreateQueue(t.Context(), "jobs-dlq", nil, nil); err != nil {
		t.Fatal(err)
	}
	q, err := e.CreateQueue(t.Context(), "jobs", map[string]string{
		queue.AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs-dlq","maxReceiveCount":"1"}`,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := newFailureWatch(e, []*queue.Queue{q}, 4, 0, slog.New(slog.DiscardHandler))
	observe := func() dashboard.Failures {
		return w.observe(autoscale.Decision{Time: clk.Now(), Observation: autoscale.Observation{
			Fleet: autoscale.FleetState{Desired: 1, Running: 1, Sensors: &autoscale.Sensors{Workers: []autoscale.WorkerCounters{{ID: "w1", Failed: 2, Completed: 2}}}},
		}})
	}
	if r := observe(); r.DeadLetterQueue != "jobs-dlq" || r.DeadLettered != 0 || r.DeadLetterMessages != 0 || r.Failed != 2 {
		t.Fatalf("before a move: %+v", r)
	}
	if _, err := q.Send(t.Context(), queue.SendInput{Body: "x"}); err != nil {
		t.Fatal(err)
	}
	// Received once and released: the second receive moves it.
	zero := time.Duration(0)
	for range 2 {
		if _, err := q.Receive(t.Context(), queue.ReceiveInput{Max: 1, Visibility: &zero, Wait: &zero}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Second)
	if r := observe(); r.DeadLetterQueue != "jobs-dlq" || r.DeadLettered != 1 || r.DeadLetterMessages != 1 {
		t.Fatalf("after a move: %+v", r)
	}
}

// --check finds a missing or non-executable handler, where the workers
// will look for it, and says when the file sits beside the configuration
// instead.
func TestCheckHandlers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "handle.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.sh")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := func(command, wdir string) string {
		return `
server: {listen: "127.0.0.1:0", inMemory: true}
queues: [{name: jobs}]
fleets:
  - queue: jobs
    worker: {command: [` + command + `], dir: "` + wdir + `"}
    maxCapacity: 2
    policies: [{targetTracking: {TargetValue: 10}}]
`
	}
	for _, tc := range []struct {
		command, dir, want string
	}{
		{"sh", "", ""},
		{script, "", ""},
		{"./handle.sh", dir, ""},
		{"does-not-exist-qscale", "", `fleets[0].worker.command: handler command not found: "does-not-exist-qscale" is not in $PATH`},
		{"./handle.sh", "", "exists beside the configuration file: set worker.dir: " + dir},
		{plain, "", "is not executable (chmod +x " + plain + ")"},
		{dir, "", "is a directory"},
	} {
		err := CheckHandlers(testConfig(t, conf(tc.command, tc.dir)), dir)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s in %q: %v", tc.command, tc.dir, err)
		case tc.want != "" && (!errors.Is(err, worker.ErrNoCommand) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s in %q: error %v, want %q", tc.command, tc.dir, err, tc.want)
		}
	}
}

// A fleet whose handler command does not exist: qscale up warns at start,
// and within seconds the narration tells of the failures with the error,
// warns that handlers fail more than they succeed, the structured log
// says so at warn, and /metrics counts the failures and the messages moved
// to the dead-letter queue, labelled with the queue's name. The workers'
// own output stays hidden.
func TestMissingHandlerFailuresShow(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0"}
queues:
  - name: jobs-dlq
  - name: jobs
    attributes: {RedrivePolicy: '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs-dlq","maxReceiveCount":"2"}'}
fleets:
  - queue: jobs
    worker: {command: [does-not-exist-qscale], flags: ["--wait", "1", "--retry-delay", "0"]}
    minCapacity: 1
    maxCapacity: 2
    interval: 250ms
    policies: [{targetTracking: {TargetValue: 100}}]
`)
	out, logs := &syncBuffer{}, &syncBuffer{}
	s := startOptions(t, Options{Config: cfg, Out: out,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	q := jobsQueue(t, s)
	burst(t, q, 5)
	testwait.For(t, 30*time.Second, "the failures in the narration", func() bool {
		o := out.String()
		return strings.Contains(o, "handlers failed") && strings.Contains(o, `"does-not-exist-qscale": executable file not found`) &&
			strings.Contains(o, "WARNING: handlers fail more than they succeed")
	})
	o := out.String()
	if !strings.Contains(o, "qscale up --worker-logs shows it") {
		t.Errorf("no hint at --worker-logs in the narration:\n%s", o)
	}
	if !strings.Contains(o, "WARNING: fleets[0].worker.command: handler command not found") {
		t.Errorf("no warning at start in the narration:\n%s", o)
	}
	if !strings.Contains(logs.String(), `level=WARN msg="handlers fail more than they succeed`) {
		t.Errorf("no warn log line:\n%s", logs.String())
	}
	failures := regexp.MustCompile(`(?m)^qscale_handler_failures_total\{fleet="jobs",queue="jobs"\} (\d+)$`)
	moved := regexp.MustCompile(`(?m)^qscale_dead_letter_moved_total\{fleet="jobs",queue="jobs"\} 5$`)
	var body string
	testwait.For(t, 30*time.Second, "failures and dead-letter moves in /metrics", func() bool {
		body = scrape(t, s.ConsoleURL()+"/metrics")
		m := failures.FindStringSubmatch(body)
		n := 0
		if m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		return n >= 5 && moved.MatchString(body) && strings.Contains(body, `qscale_fleet_warning{fleet="jobs",queue="jobs",warning="failing"} 1`)
	})
	if strings.Contains(o, "level=") {
		t.Errorf("worker log lines in the narration without --worker-logs:\n%s", o)
	}
	t.Logf("narration:\n%s", o)
}

func stopSystem(t *testing.T, s *System) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// httpGet fetches url and returns the status code and the body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read the body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// scrape is the body at url, whatever the status.
func scrape(t *testing.T, url string) string {
	t.Helper()
	_, body := httpGet(t, url)
	return body
}

// A fleet too small for its load: one worker at its maximum, a handler
// that takes 100 ms, and twenty messages a second. After WarnAfter qscale
// up warns, naming the change to make; the warning shows in /metrics.
func TestAtMaxWarningNarrated(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0"}
queues: [{name: jobs}]
fleets:
  - queue: jobs
    worker: {demo: 100ms, flags: ["--wait", "1"]}
    minCapacity: 1
    maxCapacity: 1
    interval: 250ms
    policies: [{targetTracking: {TargetValue: 10, ScaleOutCooldown: 0, ScaleInCooldown: 0}}]
`)
	out := &syncBuffer{}
	s := startOptions(t, Options{Config: cfg, Out: out, WarnAfter: 2 * time.Second})
	q := jobsQueue(t, s)
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_, _ = q.Send(context.Background(), queue.SendInput{Body: "load"})
			}
		}
	}()
	defer func() { close(stop); <-sent }()
	testwait.For(t, 30*time.Second, "the at-max warning", func() bool {
		return strings.Contains(out.String(), "WARNING: the fleet has been at its maximum of 1 workers for ")
	})
	o := out.String()
	if !strings.Contains(o, "raise maxCapacity, or make the handler faster") || !strings.Contains(o, "msg/s arrive") {
		t.Errorf("at-max warning:\n%s", o)
	}
	testwait.For(t, 10*time.Second, "the warning in /metrics", func() bool {
		return strings.Contains(scrape(t, s.ConsoleURL()+"/metrics"), `qscale_fleet_warning{fleet="jobs",queue="jobs",warning="at-max"} 1`)
	})
}
