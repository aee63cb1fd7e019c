//go:build unix

package server

import "syscall"

// openFileLimit is the soft limit on open files (Go raises it to the hard
// limit at start on Linux and macOS).
func openFileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	return r.Cur, true
}
