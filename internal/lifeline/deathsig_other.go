//go:build unix && !linux

package lifeline

import "syscall"

// DeathSignal reports whether children started by Start get a signal from
// the kernel when this process dies: not on this system, where Watch's
// guard is what stops them.
const DeathSignal = false

func setDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}
