package testenv

import "syscall"

// sysProcAttr puts the server into its own process group, so that the cleanup
// can signal the whole group, and asks the kernel to kill it when the thread
// that started it dies (a test binary killed by a timeout or SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
