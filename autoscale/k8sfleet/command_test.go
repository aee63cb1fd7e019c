package k8sfleet_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testserver"
)

// sqs calls the queue server's query protocol and returns the body.
func sqs(t *testing.T, endpoint string, form url.Values) string {
	t.Helper()
	form.Set("Version", "2012-11-05")
	resp, err := http.PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s: %s", form.Get("Action"), resp.Status, body)
	}
	return string(body)
}

// The product path end to end: the `qscale autoscale` binary, configured with
// a kubernetes fleet and a kubeconfig, watches a real qscale queue and
// sizes a Deployment on the control plane: 30 messages at 10 per worker make
// 3 workers; an empty queue brings it back to 0.
func TestQscaleAutoscaleCommand(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	dir := t.TempDir()
	bin := qscalebin.Path(t)

	endpoint := testserver.Start(t)
	m := regexp.MustCompile(`<QueueUrl>([^<]+)</QueueUrl>`).FindStringSubmatch(sqs(t, endpoint, url.Values{"Action": {"CreateQueue"}, "QueueName": {"jobs"}}))
	if m == nil {
		t.Fatal("CreateQueue returned no QueueUrl")
	}
	queueURL := m[1]
	cfg := filepath.Join(dir, "qscale.yaml")
	err := os.WriteFile(cfg, fmt.Appendf(nil, `fleets:
  - queue:
      url: %s
    kubernetes:
      kubeconfig: %s
      namespace: %s
      deployment: %s
      statusPort: 9090
    minCapacity: 0
    maxCapacity: 10
    interval: 200ms
    policies:
      - name: ten-per-worker
        targetTracking:
          TargetValue: 10
          ScaleOutCooldown: 0
          ScaleInCooldown: 0
`, queueURL, fx.cl.Kubeconfig, fx.ns, fx.name), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{}
	cmd := exec.Command(bin, "autoscale", "--config", cfg, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("qscale autoscale output:\n%s", logs.String())
		}
	})

	for i := range 30 {
		sqs(t, endpoint, url.Values{"Action": {"SendMessage"}, "QueueUrl": {queueURL}, "MessageBody": {fmt.Sprint("job ", i)}})
	}
	waitFor := func(want autoscale.FleetState) {
		t.Helper()
		fx.cl.Wait(t, 30*time.Second, fmt.Sprintf("the fleet at %+v", want), func(ctx context.Context) (bool, error) {
			select {
			case err := <-done:
				return false, fmt.Errorf("qscale autoscale exited: %v\n%s", err, logs.String())
			default:
			}
			s, err := fx.fleet.State(ctx)
			return s.Size() == want, err
		})
	}
	waitFor(autoscale.FleetState{Desired: 3, Running: 3})
	sqs(t, endpoint, url.Values{"Action": {"PurgeQueue"}, "QueueUrl": {queueURL}})
	waitFor(autoscale.FleetState{})
}

// syncWriter collects the process's stdout and stderr.
type syncWriter struct {
	mu sync.Mutex // guards b
	b  strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
