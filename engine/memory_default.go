package engine

import (
	"github.com/KimMachineGun/automemlimit/memlimit"
)

// DefaultMemoryLimit is three quarters of the memory the process may use: its cgroup's limit (a
// container's), else the machine's memory, and at most half its address space limit (ulimit -v,
// where Go's own reservations need the rest). Zero when none of them can be read.
func DefaultMemoryLimit() uint64 {
	total, err := memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)()
	if err != nil {
		total = 0
	}
	if as := addressSpaceLimit(); as > 0 && (total == 0 || as/2 < total) {
		total = as / 2
	}
	return total / 4 * 3
}
