package up

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/queue"
)

func TestMain(m *testing.M) {
	code := m.Run()
	qscalebin.Cleanup()
	os.Exit(code)
}

// qscaleBin is the qscale binary: the workers are real qscale worker
// processes.
func qscaleBin(t testing.TB) string { return qscalebin.Path(t) }

// syncBuffer is an io.Writer safe for the narrator and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := ParseConfig([]byte(yaml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startSystem(t *testing.T, cfg *config.Config, out io.Writer) *System {
	t.Helper()
	return startOptions(t, Options{Config: cfg, Out: out, WorkerOutput: out})
}

// startOptions starts a system with opts, the test's qscale binary as its
// Executable, and stops it when the test ends.
func startOptions(t *testing.T, opts Options) *System {
	t.Helper()
	opts.Executable = qscaleBin(t)
	s, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopSystem(t, s) })
	return s
}

// jobsQueue is the system's queue "jobs".
func jobsQueue(t *testing.T, s *System) *queue.Queue {
	t.Helper()
	q, err := s.Engine().Queue("jobs")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func burst(t testing.TB, q *queue.Queue, n int) {
	t.Helper()
	for sent := 0; sent < n; {
		batch := make([]queue.SendInput, 0, 10)
		for range min(10, n-sent) {
			batch = append(batch, queue.SendInput{Body: fmt.Sprintf("job %d", sent+len(batch))})
		}
		for _, o := range q.SendBatch(t.Context(), batch) {
			if o.Err != nil {
				t.Fatalf("send: %v", o.Err)
			}
		}
		sent += len(batch)
	}
}

// TestBurstScaleOutDrainScaleInToZero is the classic queue-worker scenario (a burst of 10,000 messages, 0 to 10 workers), smaller: a
// burst arrives at an idle system; the fleet grows, drains the queue and
// shrinks back to zero. Every message is processed exactly once: none is
// lost, and none is delivered twice because a worker was stopped while it
// held a message.
func TestBurstScaleOutDrainScaleInToZero(t *testing.T) {
	t.Parallel()
	const messages = 2000
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0"}
queues: [{name: jobs}]
fleets:
  - queue: jobs
    worker: {demo: 10ms, flags: ["--wait", "1"], stopGrace: 20s}
    minCapacity: 0
    maxCapacity: 6
    interval: 250ms
    policies:
      - targetTracking: {TargetValue: 100, ScaleOutCooldown: 0, ScaleInCooldown: 0}
`)
	out := &syncBuffer{}
	s := startSystem(t, cfg, out)
	q := jobsQueue(t, s)
	state := func() autoscale.FleetState {
		st, err := s.FleetState(t.Context(), "jobs")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := state(); st.Size() != (autoscale.FleetState{}) {
		t.Fatalf("idle system has workers: %+v", st)
	}

	start := time.Now()
	burst(t, q, messages)
	testwait.For(t, 10*time.Second, "the first worker to start", func() bool { return state().Desired > 0 })
	firstDecision := time.Since(start)
	maxRunning := 0
	testwait.For(t, 90*time.Second, "the queue to drain", func() bool {
		st := state()
		maxRunning = max(maxRunning, st.Running)
		return q.Stats().Deleted == messages
	})
	drained := time.Since(start)
	testwait.For(t, 60*time.Second, "the fleet to shrink to zero", func() bool { return state().Size() == autoscale.FleetState{} })
	t.Logf("first scale-out decision after %v, drained after %v, back to zero after %v, at most %d workers running",
		firstDecision.Round(time.Millisecond), drained.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), maxRunning)

	if maxRunning < 2 {
		t.Errorf("at most %d worker(s) ran for a backlog of %d with a target of 100 per worker", maxRunning, messages)
	}
	st := q.Stats()
	if st.Sent != messages || st.Deleted != messages {
		t.Errorf("sent %d, deleted %d; want %d each", st.Sent, st.Deleted, messages)
	}
	// A message delivered twice was released by a stopped worker or
	// expired in flight: either way the fleet interrupted work.
	if st.Received != messages {
		t.Errorf("%d deliveries for %d messages: %d redelivered", st.Received, messages, st.Received-messages)
	}
	if c := q.Counts(); c != (queue.Counts{}) {
		t.Errorf("queue not empty at the end: %+v", c)
	}
	if !strings.Contains(out.String(), "scale out 0 ->") || !strings.Contains(out.String(), "-> 0 workers:") {
		t.Errorf("the narration does not tell the scale-out and the return to zero:\n%s", out.String())
	}
}

func TestConsoleProducerAndMetrics(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0"}
queues: [{name: jobs}]
fleets:
  - queue: jobs
    worker: {demo: 10ms}
    minCapacity: 0
    maxCapacity: 1
    policies:
      - targetTracking: {TargetValue: 100}
`)
	s := startSystem(t, cfg, nil)
	get := func(path string) (int, string) {
		t.Helper()
		return httpGet(t, s.ConsoleURL()+path)
	}
	if code, body := get("/queue/jobs?message=hello"); code != 200 || !strings.Contains(body, `"done":true`) {
		t.Fatalf("producer endpoint: %d %s", code, body)
	}
	if code, body := get("/queue/nope?message=hello"); code != 404 || !strings.Contains(body, `"done":false`) {
		t.Fatalf("producer endpoint, unknown queue: %d %s", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("dashboard: %d %.200s", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	testwait.For(t, 10*time.Second, "a decision", func() bool { _, ok := s.LastDecision(); return ok })
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`qscale_queue_messages_total{event="sent",queue="jobs"} 1`,
		`qscale_fleet_workers{fleet="jobs",queue="jobs",state="desired"}`,
		`qscale_autoscale_backlog_per_worker{fleet="jobs",queue="jobs"}`,
		`qscale_autoscale_backlog_per_worker_target{fleet="jobs",queue="jobs"} 100`,
		`qscale_autoscale_decisions_total{`,
		`qscale_queue_processing_seconds{fleet="jobs",queue="jobs"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestConsoleToken(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0", token: s3cret}
queues: [{name: jobs}]
fleets: [{queue: jobs, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 10}}]}]
`)
	s := startSystem(t, cfg, nil)
	for _, path := range []string{"/", "/metrics", "/queue/jobs?message=x", "/api/queues"} {
		for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret"} {
			req, _ := http.NewRequest(http.MethodGet, s.ConsoleURL()+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ok := resp.StatusCode == 200; ok != (auth == "Bearer s3cret") {
				t.Errorf("GET %s with %q: %d", path, auth, resp.StatusCode)
			}
		}
	}
	q := jobsQueue(t, s)
	if n := q.Stats().Sent; n != 1 {
		t.Errorf("%d messages sent; only the authorised request should have sent one", n)
	}
}

func TestConsoleTokenRequiredBeyondLoopback(t *testing.T) {
	t.Parallel()
	_, err := ParseConfig([]byte(`
console: {listen: "0.0.0.0:9325"}
queues: [{name: jobs}]
fleets: [{queue: jobs, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 10}}]}]
`), "")
	if err == nil || !strings.Contains(err.Error(), "console.token") {
		t.Fatalf("a console on 0.0.0.0 without a token: %v", err)
	}
}

// A start that fails half-way (here: the SQS address is taken) reports it
// and stops what it had started.
func TestStartFailureIsReportedAndCleanedUp(t *testing.T) {
	t.Parallel()
	first := startSystem(t, testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0"}
queues: [{name: jobs}]
fleets: [{queue: jobs, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 10}}]}]
`), nil)
	taken := strings.TrimPrefix(first.ConsoleURL(), "http://")
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "`+taken+`"}
queues: [{name: jobs}]
fleets: [{queue: jobs, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 10}}]}]
`)
	s, err := Start(t.Context(), Options{Config: cfg, Executable: qscaleBin(t)})
	if err == nil {
		s.Stop(context.Background())
		t.Fatal("a second system on the same console address started")
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("error %q does not say the address is taken", err)
	}
}

// A dashboard tab left open (an event stream) does not hold up the stop.
func TestStopWithDashboardOpen(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0"}
queues: [{name: jobs}]
fleets: [{queue: jobs, worker: {demo: 1s}, maxCapacity: 1, policies: [{targetTracking: {TargetValue: 10}}]}]
`)
	s, err := Start(t.Context(), Options{Config: cfg, Executable: qscaleBin(t)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.ConsoleURL() + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
		t.Fatalf("event stream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop with an open event stream: %v", err)
	}
}
