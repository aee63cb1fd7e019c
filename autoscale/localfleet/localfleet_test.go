package localfleet_test

// Tests of the local fleet with real `qscale worker` processes (built once)
// against qscale's in-memory queue server.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/fleettest"
	"github.com/qscale/qscale/autoscale/localfleet"
	"github.com/qscale/qscale/internal/lifeline"
	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/internal/testwait"
)

// qscaleBin is the qscale binary built by TestMain.
var qscaleBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run takes the qscale binary (built once, or QSCALE_BIN) and runs the
// tests.
func run(m *testing.M) int {
	bin, err := qscalebin.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer qscalebin.Cleanup()
	qscaleBin = bin
	return m.Run()
}

// env is one test's queue server, queue and scratch directory.
type env struct {
	t     *testing.T
	api   *sqs.Client
	queue string
	dir   string
	log   *syncBuffer
}

func setup(t *testing.T) *env {
	t.Helper()
	endpoint := testserver.Start(t)
	api := sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	out, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	return &env{t: t, api: api, queue: *out.QueueUrl, dir: t.TempDir(), log: &syncBuffer{}}
}

// handler is the shell handler of the test workers: it records each message
// it starts ("start ID RECEIVE_COUNT") and finishes ("done ID"), and blocks
// until the file "release" exists.
const handler = `cat >/dev/null
echo "start $QSCALE_MESSAGE_ID $QSCALE_RECEIVE_COUNT" >> "$DIR/handled"
while [ ! -e "$DIR/release" ]; do sleep 0.05; done
echo "done $QSCALE_MESSAGE_ID" >> "$DIR/handled"
echo "handled $QSCALE_MESSAGE_ID"`

// options returns fleet options running qscale workers with the blocking
// handler; the fleet's log goes to e.log, shown when the test fails.
// options run real qscale workers with 1 s long polls: a drained or stopped
// worker lets its poll in progress finish before it exits.
func (e *env) options() localfleet.Options {
	return localfleet.Options{
		Command: []string{qscaleBin, "worker", "--queue-url", e.queue, "--grace", "20s", "--wait", "1",
			"--", "sh", "-c", handler},
		Env:            []string{"DIR=" + e.dir},
		Logger:         slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Stdout:         e.log,
		Stderr:         e.log,
		StopGrace:      30 * time.Second,
		RestartBackoff: 100 * time.Millisecond,
	}
}

// start returns a started fleet, stopped (and checked to leave no process)
// when the test ends.
func (e *env) start(opts localfleet.Options) *localfleet.Fleet {
	t := e.t
	t.Helper()
	f, err := localfleet.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pids := pidsOf(f)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := f.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if w := f.Workers(); len(w) != 0 {
			t.Errorf("after Stop, Workers() = %+v", w)
		}
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("worker process %d still runs after Stop", pid)
			}
		}
		if t.Failed() {
			t.Logf("fleet and worker log:\n%s", e.log.String())
		}
	})
	return f
}

func pidsOf(f *localfleet.Fleet) []int {
	var pids []int
	for _, w := range f.Workers() {
		if w.PID != 0 {
			pids = append(pids, w.PID)
		}
	}
	return pids
}

// alive reports whether pid is a live process of ours (not a zombie: the
// fleet must have reaped it).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// settle waits until the fleet runs exactly its desired count and every
// removed worker has exited.
func settle(t *testing.T, f *localfleet.Fleet) {
	t.Helper()
	testwait.For(t, 20*time.Second, "the fleet to settle", func() bool {
		s, err := f.State(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return s.Running == s.Desired && s.Starting == 0 && len(f.Workers()) == s.Desired
	})
}

// send sends n messages.
func (e *env) send(n int) {
	e.t.Helper()
	for i := range n {
		_, err := e.api.SendMessage(e.t.Context(), &sqs.SendMessageInput{QueueUrl: &e.queue, MessageBody: aws.String("m" + strconv.Itoa(i))})
		if err != nil {
			e.t.Fatalf("send: %v", err)
		}
	}
}

// release lets every blocked handler finish.
func (e *env) release() {
	if err := os.WriteFile(filepath.Join(e.dir, "release"), nil, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// handled reads the handler's record: receive counts of each started
// message, and the finished ones.
func (e *env) handled() (started map[string][]int, done map[string]int) {
	started, done = map[string][]int{}, map[string]int{}
	b, err := os.ReadFile(filepath.Join(e.dir, "handled"))
	if errors.Is(err, os.ErrNotExist) {
		return started, done
	}
	if err != nil {
		e.t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "start":
			n, _ := strconv.Atoi(f[2])
			started[f[1]] = append(started[f[1]], n)
		case len(f) == 2 && f[0] == "done":
			done[f[1]]++
		}
	}
	return started, done
}

// counts returns the queue's visible and in-flight messages.
func (e *env) counts() (visible, inFlight int) {
	e.t.Helper()
	out, err := e.api.GetQueueAttributes(e.t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: &e.queue,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		e.t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	inFlight, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible, inFlight
}

// markBusy sends n messages and waits until n workers are busy with them;
// it returns their PIDs.
func (e *env) markBusy(f *localfleet.Fleet, n int) map[int]string {
	e.t.Helper()
	e.send(n)
	busy := map[int]string{}
	testwait.For(e.t, 20*time.Second, fmt.Sprintf("%d busy workers", n), func() bool {
		clear(busy)
		for _, w := range f.Workers() {
			if w.State == localfleet.StateBusy {
				busy[w.PID] = w.ID
			}
		}
		return len(busy) == n
	})
	return busy
}

// stillRunning counts the PIDs that are live members of the fleet (not
// draining).
func stillRunning(f *localfleet.Fleet, pids map[int]string) int {
	n := 0
	for _, w := range f.Workers() {
		if _, ok := pids[w.PID]; ok && w.State != localfleet.StateDraining && alive(w.PID) {
			n++
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	t.Parallel()
	fleettest.Run(t, func(t *testing.T) fleettest.Harness {
		e := setup(t)
		f := e.start(e.options())
		return fleettest.Harness{
			Fleet:  f,
			Settle: func(t *testing.T) { settle(t, f) },
			MarkBusy: func(t *testing.T, n int) func() int {
				t.Cleanup(e.release) // before the fleet's Stop (cleanups run last first)
				pids := e.markBusy(f, n)
				return func() int { return stillRunning(f, pids) }
			},
		}
	})
}

func TestKilledWorkerIsReplaced(t *testing.T) {
	t.Parallel()
	e := setup(t)
	f := e.start(e.options())
	if err := f.SetDesired(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	victim := f.Workers()[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 20*time.Second, "the killed worker to be replaced", func() bool {
		for _, w := range f.Workers() {
			if w.ID == victim.ID {
				return w.PID != victim.PID && w.PID != 0 && w.Restarts == 1 && w.State == localfleet.StateIdle
			}
		}
		return false
	})
	settle(t, f)
	if s, _ := f.State(t.Context()); s.Size() != (autoscale.FleetState{Desired: 2, Running: 2}) {
		t.Fatalf("after the replacement State = %+v", s)
	}
	if alive(victim.PID) {
		t.Fatalf("killed worker %d was not reaped", victim.PID)
	}
	st := f.Stats()
	if st.Crashes != 1 || st.Spawned != 3 || st.Ready != 3 {
		t.Fatalf("Stats = %+v, want 1 crash, 3 spawned and ready", st)
	}
	if !strings.Contains(e.log.String(), "worker died; replacing it") {
		t.Fatalf("the crash was not logged:\n%s", e.log.String())
	}
}

// TestScaleInSparesBusyWorkers: 2 busy + 3 idle scaled in to 2 keeps the
// busy ones, and no message is delivered twice.
func TestScaleInSparesBusyWorkers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	f := e.start(e.options())
	ctx := t.Context()
	if err := f.SetDesired(ctx, 5); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	busy := e.markBusy(f, 2)
	if err := f.SetDesired(ctx, 2); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	for _, w := range f.Workers() {
		if _, ok := busy[w.PID]; !ok || w.State != localfleet.StateBusy {
			t.Fatalf("after scale-in, worker %+v is not one of the busy ones %v", w, busy)
		}
	}
	if st := f.Stats(); st.Drained != 3 || st.Killed != 0 || st.Crashes != 0 {
		t.Fatalf("Stats = %+v, want 3 drained, none killed or crashed", st)
	}
	e.release()
	testwait.For(t, 20*time.Second, "the queue to empty", func() bool {
		v, inf := e.counts()
		return v == 0 && inf == 0
	})
	testwait.For(t, 10*time.Second, "the handlers' output, prefixed with the worker's id", func() bool {
		return strings.Count(e.log.String(), "] handled ") == 2
	})
	started, done := e.handled()
	if len(started) != 2 || len(done) != 2 {
		t.Fatalf("handled started=%v done=%v, want 2 messages each once", started, done)
	}
	for id, counts := range started {
		if len(counts) != 1 || counts[0] != 1 || done[id] != 1 {
			t.Fatalf("message %s: receive counts %v, finished %d times; want one delivery", id, counts, done[id])
		}
	}
}

// TestDrainedBusyWorkerFinishes: scaling a busy worker away drains it; it
// keeps running (counted in neither Running nor Starting) until its message
// is done, then exits 0.
func TestDrainedBusyWorkerFinishes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	f := e.start(e.options())
	ctx := t.Context()
	if err := f.SetDesired(ctx, 1); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	busy := e.markBusy(f, 1)
	if err := f.SetDesired(ctx, 0); err != nil {
		t.Fatal(err)
	}
	s, _ := f.State(ctx)
	ws := f.Workers()
	if s.Size() != (autoscale.FleetState{}) || len(ws) != 1 || ws[0].State != localfleet.StateDraining {
		t.Fatalf("right after scale-in of a busy worker: State %+v, Workers %+v", s, ws)
	}
	// It is still running its message; nothing kills it.
	var pid int
	for p := range busy {
		pid = p
	}
	if !alive(pid) || len(f.Workers()) != 1 {
		t.Fatalf("the drained busy worker %d did not keep running", pid)
	}
	e.release()
	settle(t, f)
	if st := f.Stats(); st.Drained != 1 || st.Killed != 0 {
		t.Fatalf("Stats = %+v", st)
	}
	if _, done := e.handled(); len(done) != 1 {
		t.Fatalf("finished %v, want the one message", done)
	}
}

// TestStopDrains: Stop lets a busy worker finish its message, then returns
// with every process gone.
func TestStopDrains(t *testing.T) {
	t.Parallel()
	e := setup(t)
	f, err := localfleet.New(e.options())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	e.markBusy(f, 1)
	pids := pidsOf(f)
	stopped := make(chan error, 1)
	go func() { stopped <- f.Stop(context.Background()) }()
	testwait.For(t, 10*time.Second, "the idle workers to exit", func() bool { return len(f.Workers()) == 1 })
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a worker was busy", err)
	default:
	}
	e.release()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Stop did not return")
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("worker %d still runs after Stop", pid)
		}
	}
	if _, done := e.handled(); len(done) != 1 {
		t.Fatalf("finished %v, want the busy worker's message", done)
	}
	if v, inf := e.counts(); v != 0 || inf != 0 {
		t.Fatalf("queue has %d visible, %d in flight after Stop", v, inf)
	}
	if err := f.SetDesired(t.Context(), 1); !errors.Is(err, localfleet.ErrStopped) {
		t.Fatalf("SetDesired after Stop = %v, want ErrStopped", err)
	}
	if !strings.Contains(e.log.String(), "[w1] ") {
		t.Fatalf("worker output is not prefixed with its id:\n%s", e.log.String())
	}
}

// TestStopKillsAfterGrace: a process that ignores SIGTERM is SIGKILLed
// StopGrace after it, and reaped.
func TestStopKillsAfterGrace(t *testing.T) {
	t.Parallel()
	e := setup(t)
	opts := e.options()
	// Each process says when it ignores SIGTERM: a SIGTERM before that
	// would end it, and a loaded machine can be that slow.
	opts.Command = []string{"sh", "-c", `trap "" TERM; : > "$DIR/armed.$QSCALE_WORKER_ID"; while :; do sleep 0.05; done`}
	opts.StatusArgs = func(string) []string { return nil }
	opts.StopGrace = 300 * time.Millisecond
	f, err := localfleet.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, "2 processes ignoring SIGTERM", func() bool {
		armed, _ := filepath.Glob(filepath.Join(e.dir, "armed.*"))
		return len(pidsOf(f)) == 2 && len(armed) == 2
	})
	pids := pidsOf(f)
	if s, _ := f.State(t.Context()); s.Size() != (autoscale.FleetState{Desired: 2, Starting: 2}) {
		t.Fatalf("processes without a status endpoint: State %+v, want 2 starting", s)
	}
	begin := time.Now()
	if err := f.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < opts.StopGrace {
		t.Fatalf("Stop returned after %v, before the grace of %v", d, opts.StopGrace)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("process %d survived Stop", pid)
		}
	}
	if st := f.Stats(); st.Killed != 2 {
		t.Fatalf("Stats = %+v, want 2 killed", st)
	}
}

// TestStartTimeout: a worker that never becomes ready is stopped and
// replaced.
func TestStartTimeout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	opts := e.options()
	opts.Command = []string{"sh", "-c", `sleep 30`}
	opts.StatusArgs = func(string) []string { return nil }
	opts.StartTimeout = 200 * time.Millisecond
	opts.StopGrace = 200 * time.Millisecond
	f := e.start(opts)
	if err := f.SetDesired(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, "a start timeout and a replacement", func() bool {
		w := f.Workers()
		return f.Stats().StartTimeouts >= 1 && len(w) == 1 && w[0].Restarts >= 1
	})
	if st := f.Stats(); st.Crashes < 1 {
		t.Fatalf("Stats = %+v: a start timeout counts as a crash", st)
	}
}

// TestStartupTimeMeasured: workers that take 300 ms to start report it.
func TestStartupTimeMeasured(t *testing.T) {
	t.Parallel()
	e := setup(t)
	opts := e.options()
	if f := e.start(opts); f.StartupTime() != 0 {
		t.Fatalf("StartupTime before any worker = %v", f.StartupTime())
	}
	const delay = 300 * time.Millisecond
	// sh sleeps, then execs the qscale worker; the fleet inserts its status
	// flags after the "worker" element.
	opts.Command = append([]string{"sh", "-c", `sleep 0.3; exec "$@"`, "sh"}, opts.Command...)
	f := e.start(opts)
	if err := f.SetDesired(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	got := f.StartupTime()
	if got < delay || got > delay+15*time.Second {
		t.Fatalf("StartupTime = %v, want at least %v", got, delay)
	}
	for _, w := range f.Workers() {
		if w.StartupTime < delay || w.StatusAddr == "" || w.StartedAt.IsZero() {
			t.Fatalf("worker %+v: startup time, status address and start time not reported", w)
		}
	}
}

func TestOptionsValidated(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]localfleet.Options{
		"no command":       {},
		"missing command":  {Command: []string{"no-such-qscale-binary", "worker"}},
		"negative grace":   {Command: []string{"sh"}, StopGrace: -1},
		"negative max":     {Command: []string{"sh"}, MaxWorkers: -1},
		"backoff over max": {Command: []string{"sh"}, RestartBackoff: time.Minute, MaxRestartBackoff: time.Second},
	} {
		if _, err := localfleet.New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
	f, err := localfleet.New(localfleet.Options{Command: []string{"sh"}, MaxWorkers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(t.Context(), 1); !errors.Is(err, localfleet.ErrNotStarted) {
		t.Fatalf("SetDesired before Start = %v, want ErrNotStarted", err)
	}
	if err := f.SetDesired(t.Context(), 4); !errors.Is(err, autoscale.ErrInvalidDesired) {
		t.Fatalf("SetDesired above MaxWorkers = %v, want ErrInvalidDesired", err)
	}
	if err := f.Stop(t.Context()); err != nil {
		t.Fatalf("Stop of a fleet never started: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
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

// TestNoGoroutineLeak runs alone (not parallel, so the other tests are
// paused): a fleet that scaled out, in and stopped leaves no goroutine
// behind.
func TestNoGoroutineLeak(t *testing.T) {
	e := setup(t)
	e.counts() // the test's own SDK client is warm before the count
	// The in-process server watches every parked long poll's connection
	// from one goroutine that lives as long as the process: a first long
	// poll on the empty queue starts it before counting.
	if _, err := e.api.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: &e.queue, WaitTimeSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	// Every child of this process is forked from one goroutine that lives
	// as long as the process (package lifeline): start it before counting.
	warm := exec.Command("true")
	if err := lifeline.Start(warm, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	warm.Wait()
	before := runtime.NumGoroutine()
	f, err := localfleet.New(e.options())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.SetDesired(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	if err := f.SetDesired(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	if err := f.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	var after int
	deadline := time.Now().Add(5 * time.Second)
	for {
		if after = runtime.NumGoroutine(); after <= before || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before the fleet, %d after Stop:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
