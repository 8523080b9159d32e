//go:build !unix

package dirstore

import "os"

// openNonBlocking opens path to read (no FIFOs to wait for here).
func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }
