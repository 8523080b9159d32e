//go:build unix

package caddymodule

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes the lock of the folder an embedded NATS server keeps its JetStream data in, so that
// a second msgscript given the same jetstream_dir refuses to start instead of running a second
// server over the same files (nats-server takes no lock of its own there). The lock goes with the
// process; release lets go of it earlier.
func lockDir(dir string) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "msgscript.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another msgscript: give each instance its own jetstream_dir", dir)
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}
