package engine

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"go.uber.org/zap"
)

// memoryGuard keeps the process under its memory limit. gopher-lua has no allocation limit, and
// an allocation Go cannot satisfy is a fatal error, not a panic: nothing recovers the process.
// So:
//
//   - the library functions that make one large value at once (string.rep, table.concat,
//     string.format, concatenations) refuse, before allocating, a value over a quarter of the
//     limit (boundValues), or one there is no room for under the limit (admit);
//   - a sampler reads the heap every few milliseconds while calls run (it sleeps once none has
//     run for a second, until one starts). Past a quarter of the limit it sounds the alarm:
//     every running call then measures what it holds (luaState.held) at its next Lua
//     instruction, and again every remeasure, and one that holds half the limit ends itself
//     (less once the heap is over the limit: selfBound). It has to be the call itself: copying
//     a string of hundreds of megabytes cannot be interrupted, and stops the other goroutines,
//     the sampler's included, when the garbage collector needs them all; the call's next
//     instruction comes before the sampler's next reading. A string that doubles is stopped
//     before its next doubling. (While the alarm is on, every Lua instruction reads the clock: a
//     few percent on CPU-bound scripts.)
//   - past the limit (and after a garbage collection, when just past it), the guard ends the
//     running call that holds the most (when it holds an eighth of the limit at least), else,
//     after memoryWait, the longest running of those that could not measure themselves (a call
//     inside one long instruction), unless a garbage collection shows the heap was only garbage;
//     half past the limit, every running call (endAll).
//
// A call ended so fails with a "memory limit" error and its state is thrown away; the guard
// collects the garbage and, once back under the limit, gives the memory back to the system. The
// heap can go past the limit by what calls allocate before they are stopped, a few instructions'
// worth. The guard is one for the whole process, as memory is: every engine's states are watched,
// under the limit of the engine started last.
type memoryGuard struct {
	limit atomic.Uint64
	alarm atomic.Bool // the heap is over a quarter of the limit: running calls measure themselves
	log   atomic.Pointer[zap.Logger]
	start sync.Once
	// goLimit is Go's soft memory limit before the guard first set it.
	goLimit int64

	// The sampler sleeps (parked) once no call has been seen running for idleBeforePark, until a
	// call starts (wake): an idle server read its heap 200 times a second for nothing.
	parked atomic.Bool
	wake   chan struct{}

	// The heap's last reading for the running calls (see heapNow), and when (monoNow).
	heapRead atomic.Uint64
	heapAt   atomic.Int64

	// Admissions of large values (see admit): what the values admitted and being made add up
	// to; when the garbage was last collected for one (monoNow), collecting held meanwhile.
	making     atomic.Int64
	collected  atomic.Int64
	collecting sync.Mutex

	mu     sync.Mutex
	states map[*deadline]struct{} // every live Lua state's deadline
}

var memory = newMemoryGuard()

func newMemoryGuard() *memoryGuard {
	return &memoryGuard{states: map[*deadline]struct{}{}, wake: make(chan struct{}, 1)}
}

// errMemoryLimit ends the call the guard chose.
var errMemoryLimit = errors.New("memory limit")

// memoryCheck is how often the heap is read while calls run.
const memoryCheck = 5 * time.Millisecond

// idleBeforePark is how long the sampler goes on reading the heap with no call seen running.
const idleBeforePark = time.Second

// use sets the limit and starts the sampler, once. It also gives the limit to Go's garbage
// collector as its soft limit, when lower than the one in force (GOMEMLIMIT, or Caddy's share of
// the machine's memory): the collector then keeps the garbage from taking the heap over the
// limit while what is live fits under it, where, by default, it let the heap grow to twice what
// is live, and the guard ended calls for garbage.
func (g *memoryGuard) use(limit uint64, log *zap.Logger) {
	g.limit.Store(limit)
	g.log.Store(log)
	g.start.Do(func() {
		g.goLimit = debug.SetMemoryLimit(-1)
		go g.watch()
	})
	if limit > 0 && limit < uint64(g.goLimit) {
		debug.SetMemoryLimit(int64(limit))
	} else {
		debug.SetMemoryLimit(g.goLimit)
	}
}

// maxValue is the largest single value a library function may make.
func (g *memoryGuard) maxValue() int {
	if l := g.limit.Load(); l > 0 {
		return int(min(l/4, uint64(1<<31)))
	}
	return 1 << 31
}

func (g *memoryGuard) add(d *deadline) {
	g.mu.Lock()
	g.states[d] = struct{}{}
	g.mu.Unlock()
}

// each calls fn with every live state's deadline, under the guard's lock.
func (g *memoryGuard) each(fn func(*deadline)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for d := range g.states {
		fn(d)
	}
}

func (g *memoryGuard) remove(d *deadline) {
	g.mu.Lock()
	delete(g.states, d)
	g.mu.Unlock()
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// heap is the memory of the heap's objects, live or not yet collected.
func heap() uint64 {
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}

func (g *memoryGuard) watch() {
	over := false
	idle := 0 // readings in a row with no call running
	for {
		time.Sleep(memoryCheck)
		if g.running() {
			idle = 0
			g.handOver()
		} else if idle++; !over && idle >= int(idleBeforePark/memoryCheck) {
			g.park()
			idle = 0
		}
		limit := g.limit.Load()
		used := heap()
		g.alarm.Store(limit > 0 && used > limit/4)
		if limit > 0 && used > limit {
			over = true
			g.endOne(used, limit)
			continue
		}
		if over && used <= limit {
			// Back under the limit: give the system what the ended calls held.
			over = false
			debug.FreeOSMemory()
		}
	}
}

// handOver has the roots of the calls running hand the listener's place on, for a call that waits
// in Go code that hands it on itself (see callRoot.handOver).
func (g *memoryGuard) handOver() {
	var roots []*callRoot
	g.each(func(d *deadline) {
		if r := d.root.Load(); r != nil && d.armedAt.Load() != 0 && r.unlistened.Load() {
			roots = append(roots, r)
		}
	})
	for _, r := range roots { // outside the guard's lock: relisten takes the dispatcher's
		r.handOver()
	}
}

// running tells whether a call runs on any state.
func (g *memoryGuard) running() bool {
	busy := false
	g.each(func(d *deadline) { busy = busy || d.armedAt.Load() != 0 })
	return busy
}

// park waits until a call starts, unless one runs already. A call publishes its start (armedAt)
// before it looks at parked (callStarted), and park sets parked before it looks for running
// calls: a call starting meanwhile is seen by one side or the other.
func (g *memoryGuard) park() {
	g.parked.Store(true)
	if !g.running() {
		<-g.wake
	}
	g.parked.Store(false)
}

// callStarted wakes the sampler if it sleeps; a call's deadline calls it once armed.
func (g *memoryGuard) callStarted() {
	if g.parked.Load() {
		select {
		case g.wake <- struct{}{}:
		default: // woken already
		}
	}
}

// remeasure is how often a running call measures itself while the alarm is on.
const remeasure = 10 * time.Millisecond

// memoryWait is how long the guard waits for the running calls to measure themselves: one inside
// a long instruction (a large string being copied, its pages faulted in) takes a while.
const memoryWait = time.Second

// endOne ends the running call that holds the most memory, or every running call when the heap
// is far over the limit.
func (g *memoryGuard) endOne(used, limit uint64) {
	g.alarm.Store(true)
	defer g.alarm.Store(false)
	if used < limit+limit/4 {
		// Just over: it may be garbage the collector has not reached yet (a call holding 100 MiB
		// was ended for what others threw away).
		runtime.GC()
		if used = heap(); used <= limit {
			return
		}
	}
	since := time.Now()
	for waited := time.Duration(0); waited < memoryWait; waited += time.Millisecond {
		if used >= limit+limit/2 {
			g.endAll(used, limit)
			return
		}
		time.Sleep(time.Millisecond)
		used = heap()
		selfEnded, biggest, oldest, fresh := g.scan(since)
		switch {
		case used <= limit && selfEnded == nil:
			return // calls that measured themselves ended
		case selfEnded != nil:
			g.ended(selfEnded, used, limit)
			return
		case biggest != nil && biggest.size.Load() >= g.bigCall():
			g.ended(biggest, used, limit)
			return
		case fresh && waited >= 2*remeasure:
			// Every running call measured itself and none holds much: if the heap is only
			// garbage, there is nothing to end.
			runtime.GC()
			if used = heap(); used <= limit {
				return
			}
			if biggest != nil {
				g.ended(biggest, used, limit)
			}
			return
		case waited+time.Millisecond >= memoryWait && oldest != nil:
			g.ended(oldest, used, limit)
			return
		}
	}
}

// scan looks at the running calls: one that ended itself, the one that holds the most of those
// that measured themselves after since, the longest running of those that did not, and whether
// all did.
func (g *memoryGuard) scan(since time.Time) (selfEnded, biggest, oldest *deadline, fresh bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var most int64 = -1
	var longest time.Duration
	fresh = true
	for d := range g.states {
		running, runningFor := d.running()
		if !running {
			continue
		}
		if errors.Is(d.Err(), errMemoryLimit) {
			selfEnded = d
		}
		if d.measuredAt.Load() < since.UnixNano() {
			fresh = false
			if runningFor > longest {
				oldest, longest = d, runningFor
			}
		} else if size := d.size.Load(); size > most {
			biggest, most = d, size
		}
	}
	return selfEnded, biggest, oldest, fresh
}

// endAll ends every running call: the heap is half over the limit, and the calls that hold it do
// not measure themselves large enough to end (what a channel, a Go buffer or a sparse table holds
// is estimated, not counted). The process running out of memory would end them all anyway, and
// every other call with them.
func (g *memoryGuard) endAll(used, limit uint64) {
	if log := g.log.Load(); log != nil {
		log.Error("memory limit: far over it, ending every running call",
			zap.String("heap", humanize.IBytes(used)), zap.String("memory_limit", humanize.IBytes(limit)))
	}
	var victims []*deadline
	g.each(func(d *deadline) {
		if running, _ := d.running(); running {
			victims = append(victims, d)
		}
	})
	for _, d := range victims {
		d.endIfRunning(errMemoryLimit)
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if !slices.ContainsFunc(victims, func(d *deadline) bool { running, _ := d.running(); return running }) {
			break
		}
	}
	runtime.GC()
}

// ended ends the call (if it did not end itself), logs it, waits for it to let go of its state
// and collects the garbage.
func (g *memoryGuard) ended(victim *deadline, used, limit uint64) {
	if log := g.log.Load(); log != nil {
		log.Error("memory limit: ending the call that holds the most",
			zap.String("heap", humanize.IBytes(used)), zap.String("memory_limit", humanize.IBytes(limit)),
			zap.String("call_holds", humanize.IBytes(uint64(max(victim.size.Load(), 0)))))
	}
	victim.endIfRunning(errMemoryLimit)
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if running, _ := victim.running(); !running {
			break
		}
		if used := heap(); used >= limit+limit/2 {
			g.endAll(used, limit) // the others go on meanwhile
			return
		}
	}
	runtime.GC() // what it held, out of the next reading
}

// selfBound is what a call may hold before it ends itself: half the limit while the heap is
// under the limit; past it, the less the further over the limit the heap is, down to
// minSelfBound at a quarter over, and nothing at half over. With one bound for all, many calls each under it (each
// bound, under attack, to half the limit) together held gigabytes before one of them ended.
func (g *memoryGuard) selfBound() int64 {
	limit := int64(g.limit.Load())
	over := int64(g.heapNow()) - limit
	if over <= 0 {
		return limit / 2
	}
	if over >= limit/2 {
		// Half over: every call ends at its next measure, as endAll would, without waiting for
		// the sampler (busy collecting the garbage meanwhile, with every core allocating).
		return 0
	}
	span := limit / 4
	if over >= span {
		return min(minSelfBound, limit/2)
	}
	return max(2*(span-over), min(minSelfBound, limit/2)) // limit/2 at over 0, falling linearly
}

// minSelfBound is what a call may hold while the heap is a quarter over the limit or more.
const minSelfBound = 1 << 20

// bigCall is what a call must hold for the guard to end it first, when the heap is over the limit.
func (g *memoryGuard) bigCall() int64 {
	return int64(g.limit.Load() / 8)
}

// heapNow is heap, read at most once a millisecond: every running call asks for it while the
// alarm is on, and the runtime's metrics are read under a lock of their own.
func (g *memoryGuard) heapNow() uint64 {
	now := monoNow()
	if at := g.heapAt.Load(); at != 0 && now-at < int64(time.Millisecond) {
		return g.heapRead.Load()
	}
	used := heap()
	g.heapRead.Store(used)
	g.heapAt.Store(now)
	return used
}

// memoryLimitError is the message of a call the guard ended.
func memoryLimitError(limit uint64) string {
	return fmt.Sprintf("memory limit: the server's memory went over its memory_limit (%s) while this call ran, and this call was ended", humanize.IBytes(limit))
}
