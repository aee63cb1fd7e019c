package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/internal/testwait"
)

func TestMain(m *testing.M) {
	code := m.Run()
	qscalebin.Cleanup()
	os.Exit(code)
}

// autoscaleProcess is a running `qscale autoscale` process.
type autoscaleProcess struct {
	cmd     *exec.Cmd
	console string // http://host:port
	mu      sync.Mutex
	logs    []map[string]any
	out     strings.Builder
}

// queueWith starts a qscale server with the queue "jobs" holding n
// messages and returns its URL.
func queueWith(t *testing.T, n int) string {
	t.Helper()
	endpoint := testserver.Start(t)
	q, err := sqsClient(endpoint).CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	sendTo(t, endpoint, *q.QueueUrl, n)
	return *q.QueueUrl
}

func sqsClient(endpoint string) *sqs.Client {
	return testserver.Client(endpoint)
}

// sendTo sends n messages to the queue at url on the server at endpoint.
func sendTo(t *testing.T, endpoint, url string, n int) {
	t.Helper()
	api := sqsClient(endpoint)
	for range n {
		if _, err := api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
}

// startAutoscale runs qscale autoscale on cfgPath with its console on a
// free loopback port; it is stopped with SIGTERM when the test ends and
// must exit 0.
func startAutoscale(t *testing.T, cfgPath string, args ...string) *autoscaleProcess {
	t.Helper()
	p := &autoscaleProcess{}
	p.cmd = exec.Command(qscalebin.Path(t), append([]string{"autoscale", "--config", cfgPath, "--console", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	p.cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				p.logs = append(p.logs, rec)
				if rec["msg"] == "console listening" {
					listening <- strings.TrimSuffix(rec["url"].(string), "/")
				}
			}
			p.mu.Unlock()
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-scanned
		exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("qscale autoscale exited with %v after SIGTERM; output:\n%s", err, p.output())
			}
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("qscale autoscale still running 30 s after SIGTERM; output:\n%s", p.output())
		}
	})
	select {
	case p.console = <-listening:
	case err := <-exited:
		t.Fatalf("qscale autoscale exited early (%v):\n%s", err, p.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("no \"console listening\" record within 30 s:\n%s", p.output())
	}
	return p
}

func (p *autoscaleProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// logged reports whether a record with msg was written.
func (p *autoscaleProcess) logged(msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.logs {
		if s, _ := r["msg"].(string); strings.HasPrefix(s, msg) {
			return true
		}
	}
	return false
}

// get returns the status and body of GET path on the console.
func (p *autoscaleProcess) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return p.do(t, "GET", path)
}

func (p *autoscaleProcess) do(t *testing.T, method, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, p.console+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Qscale-Csrf", "1")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// decisions returns the console's decisions, newest first.
func (p *autoscaleProcess) decisions(t *testing.T) []autoscale.Decision {
	t.Helper()
	return p.decisionsWithToken(t, "")
}

func (p *autoscaleProcess) decisionsWithToken(t *testing.T, token string) []autoscale.Decision {
	t.Helper()
	var h []string
	if token != "" {
		h = []string{"Authorization", "Bearer " + token}
	}
	code, body := p.do(t, "GET", "/api/decisions?n=20", h...)
	if code != http.StatusOK {
		t.Fatalf("/api/decisions: %d %s", code, body)
	}
	var ds []autoscale.Decision
	if err := json.Unmarshal([]byte(body), &ds); err != nil {
		t.Fatalf("/api/decisions: %v: %s", err, body)
	}
	return ds
}

const consoleFleet = `fleets:
  - queue: {url: %q}
    memory: {}
    minCapacity: 0
    maxCapacity: %d
    interval: 100ms
    policies:
      - targetTracking: {TargetValue: 10, ScaleOutCooldown: 0}
%s`

// The console of a real qscale autoscale process: health, readiness,
// Prometheus series, the decisions as JSON, pause and resume; then SIGHUP
// reloads (a good file, a bad one, a kind change) while it runs.
func TestAutoscaleConsoleAndReload(t *testing.T) {
	url := queueWith(t, 30) // target tracking on 10 a worker wants 3
	path := writeConfig(t, "qscale.yaml", fmt.Sprintf(consoleFleet, url, 5, `    guardrails:
      scaleOut: {maxChange: 1, period: 1h}
`))
	p := startAutoscale(t, path)

	if code, body := p.get(t, "/healthz"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	testwait.For(t, 20*time.Second, "/readyz to answer 200", func() bool {
		code, _ := p.get(t, "/readyz")
		return code == http.StatusOK
	})
	// The guardrail holds the fleet at one worker, and says so.
	testwait.For(t, 20*time.Second, "a rate-limit decision", func() bool {
		ds := p.decisions(t)
		return len(ds) > 0 && ds[0].Rule == autoscale.RuleRateLimit && ds[0].From == 1 && ds[0].To == 1
	})
	code, metrics := p.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`qscale_fleet_workers{fleet="jobs",queue="jobs",state="desired"} 1`,
		`qscale_fleet_workers{fleet="jobs",queue="jobs",state="running"} 1`,
		`qscale_queue_messages{fleet="jobs",queue="jobs",state="visible"} 30`,
		`qscale_autoscale_backlog_per_worker{fleet="jobs",queue="jobs"} 30`,
		`qscale_autoscale_decided_workers{fleet="jobs",queue="jobs"} 1`,
		`qscale_autoscale_decisions_total{direction="hold",fleet="jobs",rule="rate-limit"}`,
		`qscale_autoscale_paused{fleet="jobs",queue="jobs"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}

	// Paused, it decides and explains but changes nothing.
	if code, body := p.do(t, "POST", "/api/pause"); code != http.StatusOK || !strings.Contains(body, `"paused":true`) {
		t.Fatalf("pause: %d %s", code, body)
	}
	testwait.For(t, 20*time.Second, "a paused decision", func() bool {
		ds := p.decisions(t)
		return len(ds) > 0 && ds[0].Rule == autoscale.RulePaused && strings.Contains(ds[0].Reason, "paused by the console")
	})
	if _, m := p.get(t, "/metrics"); !strings.Contains(m, `qscale_autoscale_paused{fleet="jobs",queue="jobs"} 1`) {
		t.Error("paused is not 1 in /metrics")
	}
	// A SIGHUP with the guardrail removed, while paused: still paused.
	if err := os.WriteFile(path, fmt.Appendf(nil, consoleFleet, url, 5, ""), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 20*time.Second, "the reload's log record", func() bool { return p.logged("configuration reloaded") })
	if ds := p.decisions(t); ds[0].To != 1 {
		t.Fatalf("paused fleet changed after reload: %+v", ds[0])
	}
	if code, body := p.do(t, "POST", "/api/resume"); code != http.StatusOK || !strings.Contains(body, `"paused":false`) {
		t.Fatalf("resume: %d %s", code, body)
	}
	// Resumed, without the guardrail: the policy's 3 workers.
	testwait.For(t, 20*time.Second, "3 workers", func() bool {
		ds := p.decisions(t)
		return len(ds) > 0 && ds[0].Observation.Fleet.Desired == 3
	})

	// A file that fails validation is refused; the running one stays.
	if err := os.WriteFile(path, fmt.Appendf(nil, consoleFleet, url, -1, ""), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	testwait.For(t, 20*time.Second, "the refusal's log record", func() bool { return p.logged("reload refused") })
	if !strings.Contains(p.output(), "fleets[0].maxCapacity") {
		t.Errorf("the refusal does not name the field:\n%s", p.output())
	}
	// A new maximum of 2 and a kind change: the bound applies, the kind
	// needs a restart.
	if err := os.WriteFile(path, []byte(strings.Replace(fmt.Sprintf(consoleFleet, url, 2, ""), "memory: {}", "local: {command: [sleep, '60']}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	testwait.For(t, 20*time.Second, "the restart warning", func() bool { return p.logged("reload: these changes need a restart") })
	if !strings.Contains(p.output(), "fleet kind memory -> local") {
		t.Errorf("the warning does not name the kind change:\n%s", p.output())
	}
	testwait.For(t, 20*time.Second, "the new maximum of 2", func() bool {
		ds := p.decisions(t)
		return len(ds) > 0 && ds[0].Observation.Fleet.Desired == 2
	})
}

// Beyond loopback the console needs a token.
func TestAutoscaleConsoleNeedsATokenBeyondLoopback(t *testing.T) {
	t.Setenv("QSCALE_CONSOLE_TOKEN", "")
	path := writeConfig(t, "qscale.yaml", fmt.Sprintf(consoleFleet, "http://127.0.0.1:1/000000000000/jobs", 5, ""))
	err := runAutoscale(t.Context(), []string{"--config", path, "--console", "0.0.0.0:0", "--check"})
	if err == nil || !strings.Contains(err.Error(), "--console-token: is required") {
		t.Fatalf("err = %v", err)
	}
}
