package qscalebin

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a qscale process a test started with Start. It runs in its own
// process group; when the test ends the group gets SIGTERM, then SIGKILL
// if it is still running ten seconds later, and a failed test logs what
// the process wrote.
type Process struct {
	Cmd    *exec.Cmd
	stdout lockedBuffer
	stderr lockedBuffer
	done   chan struct{} // closed once Cmd.Wait returned
	err    error         // Cmd.Wait's result; read only after done is closed
}

// Start runs the qscale binary with args and env added to the test's
// environment, and stops it when the test ends.
func Start(tb testing.TB, env []string, args ...string) *Process {
	tb.Helper()
	p := &Process{Cmd: exec.Command(Path(tb), args...), done: make(chan struct{})}
	if len(env) > 0 {
		p.Cmd.Env = append(os.Environ(), env...)
	}
	p.Cmd.Stdout, p.Cmd.Stderr = &p.stdout, &p.stderr
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Cmd.Start(); err != nil {
		tb.Fatalf("start qscale %q: %v", args, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		pid := p.Cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
		if tb.Failed() {
			tb.Logf("qscale %q wrote:\n%s", args, p.Output())
		}
	})
	return p
}

// WaitFile waits up to limit for the file at path (an --addr-file the
// process writes) to hold content that ok accepts, or any content when ok
// is nil, and returns it. The process exiting first, or the limit passing,
// fails the test with the process's output.
func (p *Process) WaitFile(tb testing.TB, path string, limit time.Duration, ok func([]byte) bool) []byte {
	tb.Helper()
	deadline := time.After(limit)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && (ok == nil || ok(b)) {
			return b
		}
		select {
		case <-p.done:
			tb.Fatalf("qscale exited before writing %s: %v\n%s", path, p.err, p.Output())
		case <-deadline:
			tb.Fatalf("qscale wrote no %s within %s\n%s", path, limit, p.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited (Cmd.Wait's error); call it once Done is
// closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Signal sends sig to the process (not to its group).
func (p *Process) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Stdout is what the process has written to its standard output so far.
func (p *Process) Stdout() string { return p.stdout.String() }

// Stderr is what the process has written to its standard error so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Output is the process's standard output, then its standard error.
func (p *Process) Output() string { return p.Stdout() + p.Stderr() }

// lockedBuffer is one of a process's outputs, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
