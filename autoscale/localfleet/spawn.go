package localfleet

import (
	"errors"
	"os"
	"slices"
	"syscall"
)

// killLocked SIGKILLs the slot's process, if any.
func (f *Fleet) killLocked(s *slot, why string) {
	if s.proc == nil {
		return
	}
	if err := signalGroup(s.proc, syscall.SIGKILL); err == nil {
		f.stats.Killed++
		f.log.Warn("worker killed", "id", s.id, "pid", s.pid, "why", why)
	}
}

// argv is Command with StatusArgs inserted after its first "worker".
func (f *Fleet) argv(statusFile string) []string {
	cmd := f.opts.Command
	at := slices.Index(cmd, "worker")
	if at < 0 {
		at = 0
	}
	argv := slices.Clone(cmd[:at+1])
	argv = append(argv, f.opts.StatusArgs(statusFile)...)
	return append(argv, cmd[at+1:]...)
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// signalGroup signals the worker's process group (the worker leads it), so
// that a wrapper (sh -c '... qscale worker') passes the signal on. The
// qscale worker runs its handlers in process groups of their own and stops
// them itself. Once the worker has been reaped nothing is signalled.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	// Signal(0) through the process handle (a pidfd) tells whether the
	// worker has exited, so a reused pid is never signalled.
	if err := p.Signal(syscall.Signal(0)); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return nil
		}
		return err
	}
	if err := syscall.Kill(-p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
