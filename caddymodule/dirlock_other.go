//go:build !unix

package caddymodule

// lockDir takes no lock where flock is missing: two instances must not be given one jetstream_dir.
func lockDir(string) (release func(), err error) { return func() {}, nil }
