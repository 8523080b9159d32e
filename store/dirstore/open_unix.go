//go:build unix

package dirstore

import (
	"os"
	"syscall"
)

// openNonBlocking opens path to read without blocking on a FIFO that has no writer.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
