//go:build unix

package engine

import "syscall"

// addressSpaceLimit is the process's address space limit (ulimit -v), 0 when there is none.
func addressSpaceLimit() uint64 {
	var as syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &as); err != nil || as.Cur == ^uint64(0) {
		return 0
	}
	return as.Cur
}
