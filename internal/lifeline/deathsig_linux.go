package lifeline

import "syscall"

// DeathSignal reports whether children started by Start get a signal from
// the kernel when this process dies.
const DeathSignal = true

func setDeathSignal(a *syscall.SysProcAttr, sig syscall.Signal) { a.Pdeathsig = sig }
