//go:build !unix

// Package procgroup runs a command in a process group of its own, so that ending the command ends
// everything it started. Where there are no process groups, only the command itself is ended.
package procgroup

import "os/exec"

// Set does nothing: Kill ends the command alone.
func Set(*exec.Cmd) {}

// Kill ends c's process (c has started).
func Kill(c *exec.Cmd) error { return c.Process.Kill() }
