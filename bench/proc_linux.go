package bench

import "syscall"

// sysProcAttr puts a consumer in its own process group, so that stopping it
// signals everything it started, and has the kernel kill it if bench dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
