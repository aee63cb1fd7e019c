package lifeline

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// parentEnv makes the test binary run as a parent process that starts
// children and waits to be killed (see TestMain).
const parentEnv = "LIFELINE_TEST_PARENT"

func TestMain(m *testing.M) {
	if mode := os.Getenv(parentEnv); mode != "" {
		os.Exit(parent(mode))
	}
	os.Exit(m.Run())
}

// parent starts `sh -c 'sleep 600 & echo ...; wait'` (a shell and a child of
// it in one group) and prints "<shell pid> <sleep pid>", then reads its
// stdin, which the test keeps open, until it is killed. Mode "start" uses
// Start only; "watch" adds Watch. The start is asked for by a goroutine
// that locks its thread and exits without unlocking it, which ends that
// thread: on Linux the parent waits for the thread to be gone and fails if
// the shell dies within 300 ms after (a parent-death signal sent when the
// thread that forked ends).
func parent(mode string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "parent:", err)
		return 1
	}
	// The main thread never ends (Go parks it instead): keep it for this
	// goroutine, so the one below runs on a thread that can.
	runtime.LockOSThread()
	cmd := exec.Command("/bin/sh", "-c", `sleep 600 & echo "$$ $!"; wait`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	type started struct {
		tid int
		err error
	}
	ch := make(chan started)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		ch <- started{syscall.Gettid(), Start(cmd, syscall.SIGTERM)}
	}()
	st := <-ch
	if st.err != nil {
		return fail(st.err)
	}
	if mode == "watch" {
		if err := Guard(); err != nil {
			return fail(err)
		}
		Watch(cmd.Process.Pid)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fail(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if runtime.GOOS == "linux" {
		task := fmt.Sprintf("/proc/self/task/%d", st.tid)
		for i := 0; ; i++ {
			if _, err := os.Stat(task); os.IsNotExist(err) {
				break
			}
			if i == 1000 {
				return fail(errors.New("the locked thread did not end"))
			}
			time.Sleep(5 * time.Millisecond)
		}
		select {
		case err := <-exited:
			return fail(fmt.Errorf("the shell died when the thread that asked for it ended: %v", err))
		case <-time.After(300 * time.Millisecond):
		}
	}
	fmt.Print(line)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return fail(errors.New("stdin closed before the parent was killed"))
}

// waitGone polls until every pid has ended, at most d.
func waitGone(t *testing.T, d time.Duration, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		alive := []int{}
		for _, p := range pids {
			if !Ended(p) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range alive {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			t.Fatalf("processes %v still running %v after their parent died", alive, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runParent runs the test binary as a parent in mode, and returns it with
// the pids of the shell it started and of the shell's child.
func runParent(t *testing.T, mode string) (*exec.Cmd, int, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), parentEnv+"="+mode)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe() // open until the cleanup: the parent waits on it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("the parent said nothing in 30 s")
	}
	var sh, sleep int
	if _, err := fmt.Sscan(line, &sh, &sleep); err != nil {
		t.Fatalf("parent said %q: %v", line, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-sh, syscall.SIGKILL)
	})
	return cmd, sh, sleep
}

// TestStartDeathSignal: on Linux, a child started with Start gets its
// parent-death signal when the parent is killed with SIGKILL, and not
// before, although the thread of the goroutine that asked for it ended.
func TestStartDeathSignal(t *testing.T) {
	t.Parallel()
	if !DeathSignal {
		t.Skip("no parent-death signal on " + runtime.GOOS + ": Watch covers it (TestWatchStopsTheGroup)")
	}
	p, sh, _ := runParent(t, "start")
	if Ended(sh) {
		t.Fatal("the child died with the thread that asked for it")
	}
	if err := p.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 10*time.Second, sh)
}

// TestWatchStopsTheGroup: when the parent is killed with SIGKILL, the
// guard stops the whole group, the shell's own child included.
func TestWatchStopsTheGroup(t *testing.T) {
	t.Parallel()
	p, sh, sleep := runParent(t, "watch")
	if err := p.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 10*time.Second, sh, sleep)
}

// TestGuard runs the guard's loop in this process: at the end of its input
// it stops the groups still registered (SIGKILL for one that ignores
// SIGTERM) and leaves a released one alone.
func TestGuard(t *testing.T) {
	t.Parallel()
	start := func(script string) *exec.Cmd {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
		return cmd
	}
	polite := start("exec sleep 600")
	stubborn := start("trap '' TERM; sleep 600; sleep 600")
	released := start("exec sleep 600")
	exited := map[*exec.Cmd]chan struct{}{}
	for _, c := range []*exec.Cmd{polite, stubborn, released} {
		ch := make(chan struct{})
		exited[c] = ch
		go func() { _, _ = c.Process.Wait(); close(ch) }()
	}
	in := fmt.Sprintf("+%d\n+%d\n+%d\n-%d\n+1\n+-1\nbad\n", polite.Process.Pid, stubborn.Process.Pid, released.Process.Pid, released.Process.Pid)
	var log bytes.Buffer
	if code := guard(strings.NewReader(in), &log, "1234", 300*time.Millisecond, clock.Real{}); code != 0 {
		t.Fatalf("guard exit %d", code)
	}
	for name, c := range map[string]*exec.Cmd{"polite": polite, "stubborn": stubborn} {
		select {
		case <-exited[c]:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s group still running", name)
		}
	}
	select {
	case <-exited[released]:
		t.Fatal("the released group was stopped")
	default:
	}
	want := fmt.Sprintf("process 1234 ended without stopping its process group(s) [%d %d]", min(polite.Process.Pid, stubborn.Process.Pid), max(polite.Process.Pid, stubborn.Process.Pid))
	if !strings.Contains(log.String(), want) {
		t.Fatalf("guard said %q, want %q", log.String(), want)
	}
}
