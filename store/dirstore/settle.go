package dirstore

import "time"

// A file is read only once it has stopped changing: editors and tools write in several steps
// (truncate, write part of the text, write the rest, rename, chmod), and reading in between
// would hand over half a script.
const (
	// settle is how long a file must not change before it is read; the folder must be quiet that
	// long too, so that the steps of one save (a rename's two names) arrive in one batch.
	settle = 50 * time.Millisecond
	// moveSettle is how long a file must not change before a reading that takes its script to
	// another subject or name (a move) is applied: a file cut in the middle of its header reads as
	// another script (`funcs.echo` cut to `funcs.e`), and applying it would drop the script that
	// serves. Moves are rare and can wait this long; edits that keep the script's name do not.
	moveSettle = 500 * time.Millisecond
	// maxWait bounds the wait of a file that never settles (a program rewriting it in a loop): it
	// is then read anyway, and read again every settle until a reading is applied. Such a reading
	// may only update the script the file serves (or add one when it serves none): it must read
	// the same twice, and an empty file, an unreadable header or a move wait for the file to settle.
	maxWait = time.Second
)

// change is a path that changed and has not been read since.
type change struct {
	last    time.Time     // its last change
	wait    time.Duration // how long it must stay unchanged: settle, or moveSettle before a move
	forceAt time.Time     // when it is read even though it keeps changing
}

// changes are the paths waiting to be read.
type changes map[string]*change

// touch records a change of path at now.
func (cs changes) touch(path string, now time.Time) {
	c := cs[path]
	if c == nil {
		c = &change{forceAt: now.Add(maxWait)}
		cs[path] = c
	}
	c.last, c.wait = now, settle
}

// due reports whether the path is to be read at now.
func (c *change) due(now time.Time) bool { return now.Sub(c.last) >= c.wait || !now.Before(c.forceAt) }

// settled reports whether the path has not changed for settle.
func (c *change) settled(now time.Time) bool { return now.Sub(c.last) >= settle }

// retry reads a path that keeps changing again after settle, rather than after a whole maxWait.
func (c *change) retry(now time.Time) { c.forceAt = now.Add(settle) }

// waitForMove keeps a move until the file has not changed for moveSettle.
func (c *change) waitForMove() {
	c.wait = moveSettle
	c.forceAt = c.last.Add(moveSettle)
}

// next is when the next path is due, given the folder's last change; ok is false when none waits.
// A path waiting for settle waits for the whole folder to be quiet (one batch per burst of
// changes); other deadlines are the path's own.
func (cs changes) next(lastChange time.Time) (at time.Time, ok bool) {
	for _, c := range cs {
		due := c.last.Add(c.wait)
		if c.wait == settle {
			due = lastChange.Add(settle)
		}
		if c.forceAt.Before(due) {
			due = c.forceAt
		}
		if !ok || due.Before(at) {
			at, ok = due, true
		}
	}
	return at, ok
}
