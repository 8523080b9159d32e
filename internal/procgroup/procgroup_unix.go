//go:build unix

// Package procgroup runs a command in a process group of its own, so that ending the command ends
// everything it started: a shell's children would otherwise live on.
package procgroup

import (
	"os/exec"
	"syscall"
)

// Set makes c start in a process group of its own, for Kill.
func Set(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// Kill ends c's process group (c has started).
func Kill(c *exec.Cmd) error {
	return syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
}
