//go:build !unix

package luamods

import "os/exec"

// killGroupOnCancel leaves exec's default: the shell itself is killed.
func killGroupOnCancel(*exec.Cmd) {}
