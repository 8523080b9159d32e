//go:build unix

package luamods

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel runs the command in its own process group and ends the whole group when the
// call's deadline passes: the shell's children would otherwise live on.
func killGroupOnCancel(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
}
