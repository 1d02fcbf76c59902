//go:build unix && !linux

package testenv

import "syscall"

// sysProcAttr puts the server into its own process group, so that the cleanup
// can signal the whole group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
