package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testwait"
)

// lockedBuffer is a process's output, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A second Ctrl-C of qscale up stops it at once with one clear message and
// exit 4; no "context canceled" from the parts it stops.
func TestUpSecondInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	cfg := filepath.Join(dir, "qscale.yaml")
	err := os.WriteFile(cfg, []byte(`server:
  inMemory: true
  listen: 127.0.0.1:0
console:
  listen: "off"
queues:
  - name: jobs
fleets:
  - queue: jobs
    worker:
      command: [sh, -c, "touch `+started+`; exec sleep 120"]
      stopGrace: 2m
    minCapacity: 1
    maxCapacity: 1
    policies:
      - targetTracking: {TargetValue: 100}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	addrFile := filepath.Join(dir, "addr.json")
	var stdout, stderr lockedBuffer
	up := exec.Command(qscalebin.Path(t), "up", "--config", cfg, "--addr-file", addrFile)
	up.Stdout, up.Stderr = &stdout, &stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = up.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = up.Process.Kill()
		<-exited
	})
	var addrs struct{ SQS string }
	testwait.For(t, time.Minute, "qscale up running", func() bool {
		select {
		case <-exited:
			t.Fatalf("qscale up ended:\n%s", stderr.String())
		default:
		}
		b, err := os.ReadFile(addrFile)
		return err == nil && json.Unmarshal(b, &addrs) == nil && addrs.SQS != ""
	})
	if stderr, code := qscaleRun(t, nil, "send", "--queue", "jobs", "--endpoint-url", addrs.SQS, "hello"); code != 0 {
		t.Fatalf("qscale send: exit %d\n%s", code, stderr)
	}
	testwait.For(t, time.Minute, "the handler holding the message", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})

	if err := up.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 30*time.Second, "the first stop message", func() bool {
		return strings.Contains(stdout.String(), "Ctrl-C again")
	})
	if err := up.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("qscale up still runs 30 s after a second Ctrl-C\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	code := up.ProcessState.ExitCode()
	out, errOut := stdout.String(), stderr.String()
	if code != exitQuit || strings.Contains(errOut, "context canceled") || strings.Contains(out, "context canceled") {
		t.Errorf("second Ctrl-C: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, exitQuit, out, errOut)
	}
	if want := "qscale up: stopped at once by a second signal"; !strings.Contains(errOut, want) {
		t.Errorf("stderr does not say %q:\n%s", want, errOut)
	}
}
