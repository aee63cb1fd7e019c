package localfleet

import "syscall"

// sysProcAttr puts a worker in its own process group and, on Linux, has the
// kernel send it SIGTERM should the fleet's process die without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
