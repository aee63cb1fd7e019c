//go:build !linux

package localfleet

import "syscall"

// sysProcAttr puts a worker in its own process group. Without Linux's
// parent-death signal, workers of a fleet whose process is killed outright
// keep running until they are stopped.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
