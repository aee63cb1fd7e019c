package lifeline

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// guardEnv, set to the parent's pid, makes this program run as the guard
// of that parent (see init).
const guardEnv = "QSCALE_LIFELINE_GUARD"

// KillDelay is how long the guard waits between SIGTERM and SIGKILL to the
// process groups of a parent that died.
const KillDelay = 2 * time.Second

// init runs this program as a guard when it was started as one: reading
// registrations from stdin until end of file, then stopping the groups
// still registered. Every program that imports lifeline (qscale, the tests
// of its packages, programs built on package worker) can so be its own
// guard: nothing has to be installed beside it.
func init() {
	parent := os.Getenv(guardEnv)
	if parent == "" {
		return
	}
	os.Exit(guard(os.Stdin, os.Stderr, parent, KillDelay, clock.Real{}))
}

// guard reads "+PGID" and "-PGID" lines (register, release) until its input
// ends, which happens when the parent dies or exits, then stops the groups
// still registered.
func guard(in io.Reader, log io.Writer, parent string, delay time.Duration, clk clock.Clock) int {
	groups := map[int]bool{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(line[1:])
		if err != nil || pgid <= 1 || pgid == syscall.Getpgrp() {
			continue // never -1 (every process) nor the guard's own group
		}
		switch line[0] {
		case '+':
			groups[pgid] = true
		case '-':
			delete(groups, pgid)
		}
	}
	if len(groups) == 0 {
		return 0
	}
	ids := make([]int, 0, len(groups))
	for g := range groups {
		ids = append(ids, g)
	}
	slices.Sort(ids)
	fmt.Fprintf(log, "qscale: process %s ended without stopping its process group(s) %v: SIGTERM, SIGKILL after %v\n", parent, ids, delay)
	stopGroups(ids, delay, clk)
	return 0
}

// stopGroups sends SIGTERM to each group, waits up to delay for them to
// end and sends SIGKILL to those still there. They are not the guard's
// children, so there is nothing to wait on but their existence.
func stopGroups(ids []int, delay time.Duration, clk clock.Clock) {
	for _, g := range ids {
		_ = syscall.Kill(-g, syscall.SIGTERM)
	}
	deadline := clk.NewTimer(delay)
	defer deadline.Stop()
	for {
		ids = slices.DeleteFunc(ids, func(g int) bool { return errors.Is(syscall.Kill(-g, 0), syscall.ESRCH) })
		if len(ids) == 0 {
			return
		}
		poll := clk.NewTimer(20 * time.Millisecond)
		select {
		case <-poll.C():
			continue
		case <-deadline.C():
			poll.Stop()
		}
		break
	}
	for _, g := range ids {
		_ = syscall.Kill(-g, syscall.SIGKILL)
	}
}

var (
	guardMu      sync.Mutex // guards the fields below
	guardStarted bool
	guardErr     error    // why the guard could not start
	guardPipe    *os.File // write end of the guard's stdin; this process alone holds it
)

// Guard starts this process's guard unless it runs already, and returns
// why it could not start, if it could not; Watch then does nothing. Call it
// at start-up to report that once.
func Guard() error {
	guardMu.Lock()
	defer guardMu.Unlock()
	return startGuardLocked()
}

func startGuardLocked() error {
	if guardStarted {
		return guardErr
	}
	guardStarted = true
	guardErr = func() error {
		exe := "/proc/self/exe" // this very program, even if its file was replaced
		if runtime.GOOS != "linux" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return err
			}
		}
		r, w, err := os.Pipe() // close-on-exec: no other child inherits w
		if err != nil {
			return err
		}
		defer r.Close()
		cmd := exec.Command(exe)
		cmd.Args = []string{"qscale-lifeline-guard"}
		cmd.Env = append(os.Environ(), guardEnv+"="+strconv.Itoa(os.Getpid()))
		cmd.Stdin, cmd.Stderr = r, os.Stderr
		// Its own group, no parent-death signal: it must outlive this
		// process, and a signal to this process's group must not reach it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			w.Close()
			return err
		}
		go func() { _ = cmd.Wait() }()
		guardPipe = w
		return nil
	}()
	if guardErr != nil {
		guardErr = fmt.Errorf("lifeline: starting the guard of handler processes: %w", guardErr)
	}
	return guardErr
}

// Watch registers the process group pgid with the guard (starting it on
// first use): should this process die, the group gets SIGTERM, then
// SIGKILL. Call release once the group has been stopped and its leader
// reaped, so that a later group reusing the id is never signalled.
func Watch(pgid int) (release func()) {
	if pgid <= 1 {
		return func() {}
	}
	guardMu.Lock()
	defer guardMu.Unlock()
	if startGuardLocked() != nil {
		return func() {}
	}
	fmt.Fprintf(guardPipe, "+%d\n", pgid)
	var once sync.Once
	return func() {
		once.Do(func() {
			guardMu.Lock()
			defer guardMu.Unlock()
			fmt.Fprintf(guardPipe, "-%d\n", pgid)
		})
	}
}
