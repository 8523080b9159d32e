package engine

import (
	"fmt"
	"runtime"
	"time"

	"github.com/dustin/go-humanize"
)

// A library function that makes one large value (string.rep, table.concat, string.format, a
// concatenation) makes it in one piece, in Go code no deadline interrupts, before the call can
// measure itself: 32 calls each making 60 MiB at once took a 256 MiB server past 800 MiB. So a
// value of admitFrom bytes or more is admitted first: the heap, with what other calls are making
// at that moment, must leave room for it under the limit, else the call gets a Lua error (as C
// Lua raises "not enough memory"), and the value is never made.
const admitFrom = 1 << 20

// collectEvery bounds how often a refused admission collects the garbage: a script that retries
// under pcall would otherwise keep the collector running.
const collectEvery = 100 * time.Millisecond

// admit makes room for a value of size bytes about to be made, or tells why there is none. Once
// made (or not), admitted(size) gives the room back: the heap then holds the value.
func (g *memoryGuard) admit(size int) error {
	if size < admitFrom {
		return nil
	}
	n := int64(size)
	limit := int64(g.limit.Load())
	if making := g.making.Add(n); limit == 0 || int64(heap())+making <= limit {
		return nil
	}
	// The heap may hold garbage the collector has not reached yet: collect it (once for every
	// admission waiting meanwhile, and not more often than collectEvery) and look again.
	if at := g.collected.Load(); at == 0 || monoNow()-at >= int64(collectEvery) {
		g.collecting.Lock()
		if at == g.collected.Load() {
			runtime.GC()
			g.collected.Store(monoNow())
		}
		g.collecting.Unlock()
		if int64(heap())+g.making.Load() <= limit {
			return nil
		}
	}
	g.making.Add(-n)
	return fmt.Errorf("memory limit: a value of %s would take the server's memory over its memory_limit (%s)",
		humanize.IBytes(uint64(size)), humanize.IBytes(uint64(limit)))
}

// admitted gives back the room admit made for a value of size bytes.
func (g *memoryGuard) admitted(size int) {
	if size >= admitFrom {
		g.making.Add(-int64(size))
	}
}

// admitFor is the memory guard's admission as the Go modules get it (callctx.Admit).
func admitFor(size int) (release func(), err error) {
	if err := memory.admit(size); err != nil {
		return nil, err
	}
	return func() { memory.admitted(size) }, nil
}
