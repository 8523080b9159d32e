package dirstore

import (
	"fmt"

	"github.com/msgscript/msgscript/store"
)

// maxHeld bounds the text of all the folder's scripts and libraries together. Each file is bounded
// (script.MaxSourceSize), but 3,000 files of just under 1 MiB ended the process out of memory (2.2
// GB in 22 s; compiled, text takes a few times its size again). 10,000 scripts of the usual size
// hold 15-20 MB.
const maxHeld = 64 << 20

// held are the items of the folder's files, by path, with the bytes of text they hold together.
type held struct {
	items map[string]store.Item
	bytes int
}

func newHeld() *held { return &held{items: map[string]store.Item{}} }

// set keeps item for path, unless the text held would go over maxHeld: then it keeps what path
// held before and says why.
func (h *held) set(path string, item store.Item) error {
	grown := h.bytes - len(h.items[path].Source) + len(item.Source)
	if grown > maxHeld {
		return fmt.Errorf("the folder's scripts and libraries would hold over %d bytes of text together, the most msgscript reads from a folder", maxHeld)
	}
	h.items[path], h.bytes = item, grown
	return nil
}

func (h *held) delete(path string) {
	h.bytes -= len(h.items[path].Source)
	delete(h.items, path)
}
