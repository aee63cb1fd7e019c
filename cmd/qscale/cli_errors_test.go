package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testwait"
)

// qscaleRun runs the real qscale binary to its end and returns its stderr
// and exit code.
func qscaleRun(t *testing.T, env []string, args ...string) (stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qscalebin.Path(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("qscale %s: %v", strings.Join(args, " "), err)
	}
	return e.String(), cmd.ProcessState.ExitCode()
}

// startServer starts `qscale server` with args on a port the system
// chooses and returns its process and address, once it listens; it is
// stopped when the test ends.
func startServer(t *testing.T, args ...string) (*qscalebin.Process, string) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	p := qscalebin.Start(t, nil, append([]string{"server", "--listen", "127.0.0.1:0", "--addr-file", addrFile}, args...)...)
	return p, strings.TrimSpace(string(p.WaitFile(t, addrFile, 30*time.Second, nil)))
}

// A second qscale on the same data directory says which process holds it
// and what to do, in one line, and exits 1.
func TestDataDirInUse(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	first, _ := startServer(t, "--data-dir", dir, "--admin-listen", "off")
	pid := strconv.Itoa(first.Cmd.Process.Pid)
	for _, args := range [][]string{
		{"server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--admin-listen", "off"},
		{"up", "--data-dir", dir, "--listen", "127.0.0.1:0", "--console", "off"},
	} {
		stderr, code := qscaleRun(t, nil, args...)
		want := "qscale " + args[0] + ": the data dir " + dir + " is in use by another qscale (pid " + pid + "); stop it or pass --data-dir\n"
		if code != exitFailure || !strings.HasSuffix(stderr, want) {
			t.Errorf("qscale %s on a data dir in use: exit %d, stderr\n%s\nwant the last line %q", args[0], code, stderr, want)
		}
	}
}

// A port in use names the address and the flag that chooses another.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"server", "--in-memory", "--listen", busy, "--admin-listen", "off"}, "--listen"},
		{[]string{"server", "--in-memory", "--listen", "127.0.0.1:0", "--admin-listen", busy}, "--admin-listen"},
		{[]string{"up", "--in-memory", "--listen", busy, "--console", "off"}, "--listen"},
		{[]string{"up", "--in-memory", "--listen", "127.0.0.1:0", "--console", busy}, "--console"},
	} {
		stderr, code := qscaleRun(t, nil, tc.args...)
		want := busy + " is in use (another program listens there); choose another address with " + tc.flag + "\n"
		if code != exitFailure || !strings.HasSuffix(stderr, want) {
			t.Errorf("qscale %s: exit %d, stderr\n%s\nwant the last line to end %q", strings.Join(tc.args, " "), code, stderr, want)
		}
	}
}

// qscale worker against an endpoint nothing listens on, or a queue that
// does not exist, says so in one line with what to do, not the SDK's text.
func TestWorkerExplainsAnUnreachableQueue(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	stderr, code := qscaleRun(t, nil, "worker", "--queue-url", "http://"+closed+"/000000000000/jobs", "--demo", "1ms")
	want := "qscale worker: cannot reach the queue at http://" + closed + ": connection refused; is `qscale server` (or `qscale up`) running? set --endpoint-url\n"
	if code != exitFailure || !strings.HasSuffix(stderr, want) || strings.Contains(stderr, "StatusCode") {
		t.Errorf("unreachable endpoint: exit %d, stderr\n%s\nwant the last line %q", code, stderr, want)
	}

	_, addr := startServer(t, "--in-memory", "--admin-listen", "off")
	stderr, code = qscaleRun(t, nil, "worker", "--queue-url", "http://"+addr+"/000000000000/nosuch", "--demo", "1ms")
	want = "qscale worker: the queue http://" + addr + "/000000000000/nosuch does not exist at http://" + addr + "; create it, or set --queue-url\n"
	if code != exitFailure || !strings.HasSuffix(stderr, want) {
		t.Errorf("missing queue: exit %d, stderr\n%s\nwant the last line %q", code, stderr, want)
	}
}

// qscale autoscale on a queue that does not exist says so once, at warn,
// with what to do; while it persists only at debug; and once, at info, when
// the queue appears.
func TestAutoscaleMissingQueueSaidOnce(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, "--in-memory", "--admin-listen", "off")
	queueURL := "http://" + addr + "/000000000000/later"
	cfg := filepath.Join(t.TempDir(), "autoscale.yaml")
	if err := os.WriteFile(cfg, []byte(`fleets:
  - queue: {url: "`+queueURL+`"}
    memory: {}
    minCapacity: 0
    maxCapacity: 2
    interval: 100ms
    policies:
      - targetTracking: {TargetValue: 10}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := qscalebin.Start(t, nil, "autoscale", "--config", cfg, "--console", "off", "--log-level", "debug")
	const missing = "does not exist at http://"
	// Five ticks of the missing queue: said once, then at debug.
	testwait.For(t, 30*time.Second, "the missing queue repeated at debug", func() bool {
		n := 0
		for _, line := range strings.Split(p.Stderr(), "\n") {
			if strings.Contains(line, "level=DEBUG") && strings.Contains(line, missing) {
				n++
			}
		}
		return n >= 4
	})
	createQueue(t, "http://"+addr, "later")
	testwait.For(t, 30*time.Second, "the recovery reported", func() bool {
		return strings.Contains(p.Stderr(), "recovered")
	})
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	var warns, recovered int
	for _, line := range strings.Split(p.Stderr(), "\n") {
		switch {
		case strings.Contains(line, "level=WARN") && strings.Contains(line, missing):
			warns++
			if !strings.Contains(line, "create it, or fix the fleet's queue") || strings.Contains(line, "RequestID") {
				t.Errorf("the warning does not say what to do, or carries the SDK's text:\n%s", line)
			}
		case strings.Contains(line, "level=INFO") && strings.Contains(line, "recovered"):
			recovered++
		case strings.Contains(line, missing) && !strings.Contains(line, "level=DEBUG"):
			t.Errorf("the missing queue said again, at info or above:\n%s", line)
		}
	}
	if warns != 1 || recovered != 1 {
		t.Errorf("%d warnings and %d recoveries, want 1 and 1:\n%s", warns, recovered, p.Stderr())
	}
}

// createQueue creates a queue with one SQS JSON call.
func createQueue(t *testing.T, endpoint, name string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/", strings.NewReader(`{"QueueName":"`+name+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateQueue %s: %s", name, resp.Status)
	}
}
