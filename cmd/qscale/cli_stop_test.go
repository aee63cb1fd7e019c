package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testwait"
)

// A second Ctrl-C of qscale up stops it at once with one clear message and
// exit 4; no "context canceled" from the parts it stops.
func TestUpSecondInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	up, endpoint := startOneWorker(t, `{command: [sh, -c, "touch `+started+`; exec sleep 120"], stopGrace: 2m}`)
	if stderr, code := qscaleRun(t, nil, "send", "--queue", "jobs", "--endpoint-url", endpoint, "hello"); code != 0 {
		t.Fatalf("qscale send: exit %d\n%s", code, stderr)
	}
	testwait.For(t, time.Minute, "the handler holding the message", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})

	if err := up.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 30*time.Second, "the first stop message", func() bool {
		return strings.Contains(up.Stdout(), "Ctrl-C again")
	})
	if err := up.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("qscale up still runs 30 s after a second Ctrl-C\nstdout:\n%s\nstderr:\n%s", up.Stdout(), up.Stderr())
	}
	code := up.Cmd.ProcessState.ExitCode()
	out, errOut := up.Stdout(), up.Stderr()
	if code != exitQuit || strings.Contains(errOut, "context canceled") || strings.Contains(out, "context canceled") {
		t.Errorf("second Ctrl-C: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, exitQuit, out, errOut)
	}
	if want := "qscale up: stopped at once by a second signal"; !strings.Contains(errOut, want) {
		t.Errorf("stderr does not say %q:\n%s", want, errOut)
	}
}
