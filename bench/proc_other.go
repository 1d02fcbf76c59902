//go:build unix && !linux

package bench

import "syscall"

// sysProcAttr puts a consumer in its own process group, so that stopping it
// signals everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
