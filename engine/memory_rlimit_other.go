//go:build !unix

package engine

// addressSpaceLimit is 0: there is no address space limit to read here.
func addressSpaceLimit() uint64 { return 0 }
