package worker_test

// Tests of real `qscale worker` processes against real SQS servers: qscale's
// own (internal/testserver) and moto's.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

	"github.com/qscale/qscale/internal/lifeline"
	"github.com/qscale/qscale/internal/mototest"
	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/worker"
	"github.com/qscale/qscale/worker/workerstatus"
)

func TestMain(m *testing.M) {
	code := m.Run()
	qscalebin.Cleanup()
	os.Exit(code)
}

// qscaleBin is the qscale binary the process tests run.
func qscaleBin(t testing.TB) string { return qscalebin.Path(t) }

func sqsClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

type env struct {
	t        *testing.T
	endpoint string
	api      *sqs.Client
	dir      string
}

func newEnv(t *testing.T, endpoint string) *env {
	return &env{t: t, endpoint: endpoint, api: sqsClient(endpoint), dir: t.TempDir()}
}

// qscaleEnv is an env on qscale's own in-memory server.
func qscaleEnv(t *testing.T) *env {
	t.Parallel()
	return newEnv(t, testserver.Start(t))
}

func (e *env) createQueue(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.api.CreateQueue(e.t.Context(), &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
	if err != nil {
		e.t.Fatalf("create queue: %v", err)
	}
	return *out.QueueUrl
}

func (e *env) queueArn(url string) string {
	e.t.Helper()
	out, err := e.api.GetQueueAttributes(e.t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: &url, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Attributes["QueueArn"]
}

func (e *env) send(url string, bodies ...string) {
	e.t.Helper()
	for _, b := range bodies {
		_, err := e.api.SendMessage(e.t.Context(), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(b),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"color": {DataType: aws.String("String"), StringValue: aws.String("red")},
			}})
		if err != nil {
			e.t.Fatalf("send: %v", err)
		}
	}
}

// counts returns the visible and in-flight messages of a queue.
func (e *env) counts(url string) (visible, inFlight int) {
	e.t.Helper()
	out, err := e.api.GetQueueAttributes(e.t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: &url,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		e.t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	inFlight, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible, inFlight
}

// script writes an executable shell script into the test's directory.
func (e *env) script(name, body string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		e.t.Fatal(err)
	}
	return p
}

type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *syncBuffer
	status string // status file
	done   chan struct{}
	err    error
}

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

// startWorker runs `qscale worker --queue-url url args...` with a status
// file and a status endpoint on a free port, and long polls of 2 s (a
// stopping worker lets the one in progress finish; args may override it).
func (e *env) startWorker(url string, args ...string) *proc {
	e.t.Helper()
	status := filepath.Join(e.t.TempDir(), "status.json")
	all := append([]string{"worker", "--queue-url", url, "--status-file", status, "--status-addr", "127.0.0.1:0", "--log-level", "debug", "--wait", "2"}, args...)
	cmd := exec.Command(qscaleBin(e.t), all...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "DIR="+e.dir)
	p := &proc{t: e.t, cmd: cmd, out: &syncBuffer{}, status: status, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	e.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if e.t.Failed() {
			e.t.Logf("worker %d output:\n%s", cmd.Process.Pid, p.out.String())
		}
	})
	return p
}

// exitCode waits for the process to exit, at most d.
func (p *proc) exitCode(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("worker still running after %v", d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

func (p *proc) signal(s os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

// report reads the status document from the status endpoint, whose address
// the status file gives.
func (p *proc) report() worker.Report {
	p.t.Helper()
	var rep worker.Report
	testwait.For(p.t, 10*time.Second, "status file", func() bool {
		b, err := os.ReadFile(p.status)
		return err == nil && json.Unmarshal(b, &rep) == nil && rep.StatusAddr != ""
	})
	resp, err := http.Get("http://" + rep.StatusAddr + "/status")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		p.t.Fatal(err)
	}
	return rep
}

func (p *proc) metrics() string {
	p.t.Helper()
	addr := p.report().StatusAddr
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func lines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func pidAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// --- the tests ---

func TestProcessDeletesOnSuccess(t *testing.T) {
	e := qscaleEnv(t)
	testDeletesOnSuccess(t, e)
}

func testDeletesOnSuccess(t *testing.T, e *env) {
	url := e.createQueue("jobs", nil)
	e.send(url, "one", "two", "three")
	h := e.script("handler.sh", `body=$(cat)
echo "$body $QSCALE_RECEIVE_COUNT $QSCALE_MSGATTR_color $QSCALE_QUEUE_URL" >> "$DIR/log"
`)
	w := e.startWorker(url, "--concurrency", "2", "--", h)
	log := filepath.Join(e.dir, "log")
	testwait.For(t, 20*time.Second, "three messages handled and deleted", func() bool {
		v, f := e.counts(url)
		return len(lines(log)) == 3 && v == 0 && f == 0
	})
	got := map[string]bool{}
	for _, l := range lines(log) {
		f := strings.Fields(l)
		if len(f) != 4 || f[1] != "1" || f[2] != "red" || f[3] != url {
			t.Fatalf("handler saw %q", l)
		}
		got[f[0]] = true
	}
	if len(got) != 3 {
		t.Fatalf("bodies %v", got)
	}
	if m := w.metrics(); !strings.Contains(m, "qscale_worker_messages_succeeded_total{") ||
		!strings.Contains(m, "qscale_worker_processing_seconds_count{outcome=\"success\"") {
		t.Fatalf("metrics:\n%s", m)
	}
	if rep := w.report(); rep.State != worker.StateIdle || rep.Counts.Succeeded != 3 || rep.InFlight != 0 {
		t.Fatalf("status %+v", rep)
	}
	// The worker lets its long poll in progress (--wait 2) finish first;
	// moto answers it late on a loaded machine.
	w.signal(syscall.SIGTERM)
	if code := w.exitCode(30 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestProcessRetriesAfterBackoff(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("retry", nil)
	e.send(url, "flaky")
	// Fails on the first delivery, succeeds on the second.
	h := e.script("handler.sh", `echo "$QSCALE_RECEIVE_COUNT $(date +%s.%N)" >> "$DIR/log"
[ "$QSCALE_RECEIVE_COUNT" -ge 2 ]
`)
	w := e.startWorker(url, "--retry-delay", "1s", "--", h)
	log := filepath.Join(e.dir, "log")
	testwait.For(t, 20*time.Second, "retry and delete", func() bool {
		v, f := e.counts(url)
		return len(lines(log)) == 2 && v == 0 && f == 0
	})
	l := lines(log)
	var t1, t2 float64
	var c1, c2 int
	fmt.Sscanf(l[0], "%d %f", &c1, &t1)
	fmt.Sscanf(l[1], "%d %f", &c2, &t2)
	if c1 != 1 || c2 != 2 {
		t.Fatalf("receive counts %d, %d", c1, c2)
	}
	if gap := t2 - t1; gap < 0.9 {
		t.Fatalf("retried after %.2fs, want the 1s backoff", gap)
	}
	if rep := w.report(); rep.Counts.Failed != 1 || rep.Counts.Succeeded != 1 {
		t.Fatalf("counts %+v", rep.Counts)
	}
}

func TestProcessPoisonMessageReachesDLQ(t *testing.T) {
	e := qscaleEnv(t)
	dlq := e.createQueue("poison-dlq", nil)
	url := e.createQueue("poison", map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":3}`, e.queueArn(dlq)),
	})
	e.send(url, "poison")
	h := e.script("handler.sh", `echo "$QSCALE_RECEIVE_COUNT" >> "$DIR/log"; exit 7
`)
	e.startWorker(url, "--retry-delay", "0", "--", h)
	testwait.For(t, 20*time.Second, "the message in the dead-letter queue", func() bool {
		v, _ := e.counts(dlq)
		return v == 1
	})
	if got := strings.Join(lines(filepath.Join(e.dir, "log")), ","); got != "1,2,3" {
		t.Fatalf("handled with receive counts %s, want 1,2,3", got)
	}
	if v, f := e.counts(url); v != 0 || f != 0 {
		t.Fatalf("source queue still has %d+%d", v, f)
	}
}

func TestProcessHeartbeatKeepsLongMessageInvisible(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("long", nil)
	gate := filepath.Join(e.dir, "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	e.send(url, "long")
	h := e.script("handler.sh", `echo started >> "$DIR/log"
read x < "$DIR/gate"
`)
	w := e.startWorker(url, "--visibility", "2s", "--heartbeat", "500ms", "--", h)
	testwait.For(t, 20*time.Second, "the handler to start", func() bool { return len(lines(filepath.Join(e.dir, "log"))) == 1 })
	// Another consumer long-polls for 5 s: more than twice the 2 s
	// visibility timeout. It must get nothing.
	for range 5 {
		out, err := e.api.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			t.Fatal("the held message became visible: no heartbeat")
		}
	}
	if rep := w.report(); rep.State != worker.StateBusy || rep.InFlight != 1 {
		t.Fatalf("status %+v", rep)
	}
	f, err := os.OpenFile(gate, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "go")
	f.Close()
	testwait.For(t, 10*time.Second, "delete", func() bool {
		v, f := e.counts(url)
		return v == 0 && f == 0
	})
	if got := len(lines(filepath.Join(e.dir, "log"))); got != 1 {
		t.Fatalf("handled %d times", got)
	}
}

func TestProcessSIGTERMWithWorkInFlight(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("term", map[string]string{"VisibilityTimeout": "120"})
	bodies := []string{"m1", "m2", "m3", "m4", "m5", "m6"}
	for _, b := range bodies {
		if err := syscall.Mkfifo(filepath.Join(e.dir, "gate-"+b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.send(url, bodies...)
	h := e.script("handler.sh", `body=$(cat)
echo "start $body $$" >> "$DIR/log"
read x < "$DIR/gate-$body"
echo "done $body" >> "$DIR/log"
`)
	a := e.startWorker(url, "--concurrency", "4", "--grace", "3s", "--visibility", "120s", "--", h)
	log := filepath.Join(e.dir, "log")
	testwait.For(t, 20*time.Second, "four handlers running", func() bool { return len(lines(log)) == 4 })
	if rep := a.report(); rep.State != worker.StateBusy || rep.InFlight != 4 {
		t.Fatalf("status %+v", rep)
	}
	a.signal(syscall.SIGTERM)
	testwait.For(t, 10*time.Second, "draining", func() bool { return a.report().State == worker.StateDraining })

	// Two of the four finish within the grace period.
	var started []string
	pids := map[string]int{}
	for _, l := range lines(log) {
		f := strings.Fields(l)
		started = append(started, f[1])
		pids[f[1]], _ = strconv.Atoi(f[2])
	}
	finished := started[:2]
	for _, b := range finished {
		f, err := os.OpenFile(filepath.Join(e.dir, "gate-"+b), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(f, "go")
		f.Close()
	}
	if code := a.exitCode(20 * time.Second); code != 3 {
		t.Fatalf("exit %d, want 3 (grace ended, messages released)", code)
	}
	for _, b := range started[2:] {
		if pidAlive(pids[b]) {
			t.Fatalf("handler of released message %s still running", b)
		}
	}
	done := map[string]bool{}
	for _, l := range lines(log)[4:] {
		done[strings.Fields(l)[1]] = true
	}
	if len(lines(log)) != 6 || !done[finished[0]] || !done[finished[1]] {
		t.Fatalf("log:\n%s", strings.Join(lines(log), "\n"))
	}

	// Another worker takes the two released and the two never received at
	// once, long before the 120 s visibility timeout.
	hb := e.script("handler-b.sh", `echo "$(cat) $QSCALE_RECEIVE_COUNT" >> "$DIR/log-b"
`)
	e.startWorker(url, "--concurrency", "4", "--", hb)
	testwait.For(t, 15*time.Second, "the second worker to take the rest", func() bool {
		v, f := e.counts(url)
		return len(lines(filepath.Join(e.dir, "log-b"))) == 4 && v == 0 && f == 0
	})
	seen := map[string]bool{}
	for _, b := range finished {
		seen[b] = true
	}
	for _, l := range lines(filepath.Join(e.dir, "log-b")) {
		b := strings.Fields(l)[0]
		if seen[b] {
			t.Fatalf("%s processed twice", b)
		}
		seen[b] = true
	}
	if len(seen) != 6 {
		t.Fatalf("processed %v", seen)
	}
}

func TestProcessSecondSignalStopsAtOnce(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("twice", map[string]string{"VisibilityTimeout": "120"})
	e.send(url, "hang")
	h := e.script("handler.sh", `echo started >> "$DIR/log"; exec sleep 600
`)
	w := e.startWorker(url, "--grace", "10m", "--visibility", "120s", "--", h)
	testwait.For(t, 20*time.Second, "the handler to start", func() bool { return len(lines(filepath.Join(e.dir, "log"))) == 1 })
	w.signal(syscall.SIGTERM)
	testwait.For(t, 10*time.Second, "draining", func() bool { return w.report().State == worker.StateDraining })
	w.signal(syscall.SIGTERM)
	if code := w.exitCode(10 * time.Second); code != 4 {
		t.Fatalf("exit %d, want 4", code)
	}
	out, err := e.api.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 5})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("released message not visible: %v %v", out, err)
	}
}

func TestProcessHandlerTimeout(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("hang", nil)
	e.send(url, "hang-once")
	// The first delivery hangs; the second succeeds.
	h := e.script("handler.sh", `echo "$QSCALE_RECEIVE_COUNT $$" >> "$DIR/log"
if [ "$QSCALE_RECEIVE_COUNT" = 1 ]; then exec sleep 600; fi
`)
	w := e.startWorker(url, "--timeout", "1s", "--retry-delay", "0", "--", h)
	log := filepath.Join(e.dir, "log")
	testwait.For(t, 20*time.Second, "timeout, retry and delete", func() bool {
		v, f := e.counts(url)
		return len(lines(log)) == 2 && v == 0 && f == 0
	})
	first := strings.Fields(lines(log)[0])
	pid, _ := strconv.Atoi(first[1])
	if first[0] != "1" || pidAlive(pid) {
		t.Fatalf("first delivery %v: still running %v", first, pidAlive(pid))
	}
	if rep := w.report(); rep.Counts.Failed != 1 || rep.Counts.Succeeded != 1 {
		t.Fatalf("counts %+v", rep.Counts)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestProcessSupervisorRestartsCrashingApp(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("app", nil)
	app := filepath.Join(e.dir, "app.py")
	err := os.WriteFile(app, []byte(`import http.server, os, sys
port, log = int(sys.argv[1]), sys.argv[2]
def note(s):
    with open(log, "a") as f:
        f.write(s + "\n")
note("start %d" % os.getpid())
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if self.headers["X-Qscale-Receive-Count"] == "1":
            os._exit(3)  # crash on a first delivery
        note("ok %s %s" % (body, self.headers["X-Aws-Sqsd-Msgid"]))
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	log := filepath.Join(e.dir, "log")
	e.send(url, "payload")
	w := e.startWorker(url, "--http", fmt.Sprintf("http://127.0.0.1:%d/work", port),
		"--http-start", fmt.Sprintf("exec python3 %s %d %s", app, port, log),
		"--http-restart-delay", "100ms", "--retry-delay", "0")
	testwait.For(t, 30*time.Second, "crash, restart, delivery", func() bool {
		v, f := e.counts(url)
		return len(lines(log)) == 3 && v == 0 && f == 0
	})
	l := lines(log)
	if !strings.HasPrefix(l[0], "start ") || !strings.HasPrefix(l[1], "start ") || !strings.HasPrefix(l[2], "ok payload ") {
		t.Fatalf("app log:\n%s", strings.Join(l, "\n"))
	}
	rep := w.report()
	if rep.App == nil || rep.App.Restarts != 1 || !rep.App.Ready {
		t.Fatalf("app status %+v", rep.App)
	}
	pid, _ := strconv.Atoi(strings.Fields(l[1])[1])
	w.signal(syscall.SIGTERM)
	if code := w.exitCode(20 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if pidAlive(pid) {
		t.Fatal("the application outlived the worker")
	}
}

func TestProcessDrainRequest(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("drain", nil)
	h := e.script("handler.sh", "cat >/dev/null\n")
	w := e.startWorker(url, "--", h)
	addr := w.report().StatusAddr
	resp, err := http.Post("http://"+addr+"/drain", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("drain answered %d", resp.StatusCode)
	}
	if code := w.exitCode(10 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rep worker.Report
	b, _ := os.ReadFile(w.status)
	if err := json.Unmarshal(b, &rep); err != nil || rep.State != worker.StateStopped {
		t.Fatalf("final status file %s (%v)", b, err)
	}
}

// The same runtime against moto's server, another SQS implementation.
func TestMotoBasicCycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mototest.StartT(t))
	testDeletesOnSuccess(t, e)
}

func TestProcessFIFOGroupInOrder(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("orders.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for _, b := range []string{"1", "2", "3", "4", "5"} {
		_, err := e.api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(b), MessageGroupId: aws.String("g")})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Fails "3" on its first delivery: 4 and 5 must wait for it.
	h := e.script("handler.sh", `body=$(cat)
echo "$body $QSCALE_RECEIVE_COUNT" >> "$DIR/log"
[ "$body" != 3 ] || [ "$QSCALE_RECEIVE_COUNT" -gt 1 ]
`)
	e.startWorker(url, "--concurrency", "4", "--retry-delay", "0", "--", h)
	log := filepath.Join(e.dir, "log")
	testwait.For(t, 20*time.Second, "the group handled", func() bool {
		v, f := e.counts(url)
		return len(lines(log)) == 6 && v == 0 && f == 0
	})
	var order []string
	for _, l := range lines(log) {
		order = append(order, strings.Fields(l)[0])
	}
	if got := strings.Join(order, ","); got != "1,2,3,3,4,5" {
		t.Fatalf("handled in order %s, want 1,2,3,3,4,5", got)
	}
}

// TestProcessIdleStopExplainsItself: an idle worker told to stop says at
// once that it finishes the long poll in progress, for how long at most, and
// that a second signal quits now; a second signal then ends it at once
// (exit 4), long before the 8 s poll would have.
func TestProcessIdleStopExplainsItself(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("idle", nil)
	w := e.startWorker(url, "--wait", "8", "--demo", "1ms")
	w.report() // started: its status endpoint answers
	w.signal(syscall.SIGTERM)
	const said = "finishing the receive in progress (long poll, at most 8s)"
	testwait.For(t, 10*time.Second, "the stop explained", func() bool {
		out := w.out.String()
		return strings.Contains(out, said) && strings.Contains(out, "a second SIGTERM or SIGINT quits now (exit 4)")
	})
	t0 := time.Now()
	w.signal(syscall.SIGINT)
	if code := w.exitCode(4 * time.Second); code != 4 {
		t.Fatalf("exit %d, want 4", code)
	}
	t.Logf("exited %v after the second signal", time.Since(t0))
}

// readPid waits for a file holding a pid.
func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	testwait.For(t, 20*time.Second, path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	return pid
}

// kill9 kills the worker with SIGKILL and waits for it to exit.
func (p *proc) kill9() {
	p.t.Helper()
	p.signal(syscall.SIGKILL)
	if code := p.exitCode(10 * time.Second); code != -1 {
		p.t.Fatalf("exit %d after SIGKILL", code)
	}
}

// TestProcessKilledWorkerLeavesNoHandler: a worker killed with SIGKILL
// while a long command handler runs takes it with it, and the process the
// handler started itself too: nothing goes on handling a message that the
// queue will deliver again.
func TestProcessKilledWorkerLeavesNoHandler(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("orphan", map[string]string{"VisibilityTimeout": "120"})
	e.send(url, "long")
	h := e.script("handler.sh", `sleep 600 &
echo $! > "$DIR/child"
echo $$ > "$DIR/handler"
wait
`)
	w := e.startWorker(url, "--visibility", "120s", "--", h)
	handler, child := readPid(t, filepath.Join(e.dir, "handler")), readPid(t, filepath.Join(e.dir, "child"))
	t.Cleanup(func() { _ = syscall.Kill(-handler, syscall.SIGKILL) })
	w.kill9()
	testwait.For(t, 10*time.Second, "the handler and its child to end", func() bool {
		return lifeline.Ended(handler) && lifeline.Ended(child)
	})
}

// TestProcessKilledWorkerFreesAppPort: a worker killed with SIGKILL takes
// its --http-start application with it (here a shell's child, not the
// shell), so the port is free for the next worker's application.
func TestProcessKilledWorkerFreesAppPort(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("orphan-app", nil)
	app := filepath.Join(e.dir, "app.py")
	err := os.WriteFile(app, []byte(`import http.server, os, sys
port, pidfile = int(sys.argv[1]), sys.argv[2]
server = http.server.HTTPServer(("127.0.0.1", port), http.server.BaseHTTPRequestHandler)
with open(pidfile, "w") as f:
    f.write("%d\n" % os.getpid())
server.serve_forever()
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	pidfile := filepath.Join(e.dir, "app.pid")
	w := e.startWorker(url, "--http", fmt.Sprintf("http://127.0.0.1:%d/work", port),
		"--http-start", fmt.Sprintf("cd %s && python3 app.py %d %s", e.dir, port, pidfile))
	pid := readPid(t, pidfile)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	testwait.For(t, 20*time.Second, "the application ready", func() bool {
		rep := w.report()
		return rep.App != nil && rep.App.Ready
	})
	w.kill9()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testwait.For(t, 10*time.Second, "the application's port free", func() bool {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		ln.Close()
		return true
	})
	if !lifeline.Ended(pid) {
		t.Fatalf("application %d still running with its port closed", pid)
	}
}

// A failing command's exit code and the end of its standard error reach
// the status document, although the worker's own output goes nowhere a
// person reads; so does a command that cannot run at all.
func TestProcessReportsHandlerErrors(t *testing.T) {
	e := qscaleEnv(t)
	url := e.createQueue("failing", nil)
	h := e.script("handler.sh", `i=0; while [ $i -lt 300 ]; do echo "noise line $i" >&2; i=$((i+1)); done
echo "boom: cannot open $QSCALE_MESSAGE_ID" >&2; exit 3
`)
	w := e.startWorker(url, "--retry-delay", "10m", "--", h)
	e.send(url, "one")
	var rep worker.Report
	testwait.For(t, 20*time.Second, "the failure in the status document", func() bool {
		rep = w.report()
		return len(rep.Errors) == 1
	})
	got := rep.Errors[0]
	if rep.Counts.Failed != 1 || got.ExitCode == nil || *got.ExitCode != 3 || got.MessageID == "" || got.ReceiveCount != 1 ||
		got.Error != "handler command exited 3" || got.Time.IsZero() {
		t.Fatalf("counts %+v, error %+v", rep.Counts, got)
	}
	if !strings.HasSuffix(got.Stderr, "boom: cannot open "+got.MessageID+"\n") || len(got.Stderr) > workerstatus.MaxStderr ||
		!strings.HasPrefix(got.Stderr, "noise line ") {
		t.Fatalf("stderr tail (%d bytes) %q", len(got.Stderr), got.Stderr)
	}

	missing := e.createQueue("missing", nil)
	m := e.startWorker(missing, "--retry-delay", "10m", "--", "does-not-exist-qscale")
	e.send(missing, "two")
	testwait.For(t, 20*time.Second, "the missing command in the status document", func() bool {
		rep = m.report()
		return len(rep.Errors) == 1
	})
	if got := rep.Errors[0]; got.ExitCode != nil || !strings.Contains(got.Error, `"does-not-exist-qscale": executable file not found`) {
		t.Fatalf("error %+v", got)
	}
}
