//go:build unix

package testenv

import (
	"os/exec"
	"syscall"
)

// signalGroup sends sig to the process group of cmd, which sysProcAttr made
// the server's own.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process == nil {
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		_ = cmd.Process.Signal(sig)
	}
}
