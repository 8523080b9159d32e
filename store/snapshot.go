package store

import (
	"bytes"
	"slices"
)

// Snapshot is everything a store holds at one moment. Backends that follow their content by
// reading it again (the folder after a burst of file events, etcd after a broken watch) compare
// two snapshots to hand over only what changed.
type Snapshot map[Ref]Item

// Diff lists the events that turn s into next, in Ref order (libraries first).
func (s Snapshot) Diff(next Snapshot) []Event {
	var batch []Event
	for ref, it := range next {
		if old, ok := s[ref]; !ok || !bytes.Equal(old.Source, it.Source) {
			batch = append(batch, Event{Op: OpPut, Item: it})
		}
	}
	for ref, it := range s {
		if _, ok := next[ref]; !ok {
			batch = append(batch, Event{Op: OpDelete, Item: Item{Ref: ref, Origin: it.Origin}})
		}
	}
	slices.SortFunc(batch, func(a, b Event) int { return a.Item.Ref.Compare(b.Item.Ref) })
	return batch
}

// Sorted returns the items of one kind in Ref order, as Scripts and Libraries list them.
func (s Snapshot) Sorted(kind Kind) []Item {
	var out []Item
	for _, it := range s {
		if it.Kind == kind {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b Item) int { return a.Ref.Compare(b.Ref) })
	return out
}
