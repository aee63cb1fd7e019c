// Package lifeline ties the processes qscale starts to the life of the
// process that started them, so that none is left running, orphaned, when
// that process is killed outright (kill -9, the OOM killer, a crash): a
// worker's command handlers and HTTP application, a local fleet's workers.
//
// Two mechanisms, because each covers what the other cannot:
//
//   - Start starts a child in a process group of its own and, on Linux, with
//     a parent-death signal (Pdeathsig). Linux sends that signal when the
//     thread that forked the child ends, not the process, so every child is
//     forked from one goroutine locked to an OS thread that lives as long as
//     the process. The signal reaches the child only, not the processes it
//     starts itself (a shell's children, for example).
//   - Watch registers a child's process group with a guard: a small process
//     (this program run again, see the package's init) that holds the read
//     end of a pipe whose write end only this process holds. When this
//     process dies, however it dies and on every Unix, the pipe reads end of
//     file and the guard sends SIGTERM to every group still registered, then
//     SIGKILL to those still there after KillDelay.
package lifeline

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// forks carries every cmd.Start to the forker goroutine.
var (
	forkerOnce sync.Once
	forks      chan forkRequest
)

type forkRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// forker starts every child from one OS thread that lives as long as the
// process: the goroutine never returns and never unlocks its thread, so the
// thread never ends and a parent-death signal is sent only when the
// process itself dies.
func forker() {
	runtime.LockOSThread()
	for r := range forks {
		r.done <- r.cmd.Start()
	}
}

// Start starts cmd in a process group of its own (its pid is the group's
// id) and, on Linux, has the kernel send it sig should this process die
// before it (0: no signal). Other fields of cmd.SysProcAttr are kept. On
// other systems the child is not signalled: use Watch.
func Start(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setDeathSignal(cmd.SysProcAttr, sig)
	forkerOnce.Do(func() {
		forks = make(chan forkRequest)
		go forker()
	})
	r := forkRequest{cmd: cmd, done: make(chan error, 1)}
	forks <- r
	return <-r.done
}

// Ended reports whether the process pid has ended: there is no such
// process, or (Linux) it is a zombie that its parent has not reaped yet,
// as an orphan whose new parent is slow to reap is. Tests use it to watch
// the processes of a killed parent.
func Ended(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return runtime.GOOS == "linux" // no /proc entry: gone meanwhile
	}
	// The state follows the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}
