package engine

import (
	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/callctx"
)

// Slots kept for nested calls. A call waiting for another script's reply (nats.request) holds its
// slot meanwhile: when the subjects of such calls held every slot between them (four subjects
// at their share, by default), the scripts they requested found none, and every call waited out
// its timeout. So a message of depth d (how many script calls led to it, from the Msgscript-Depth
// header: 0 for a client's, 1 for one a script requested...) runs only while more than
// reservesOf(...)[d] slots are free: a client's message leaves an eighth of the slots to the
// calls scripts make, and each level of nesting leaves half as many to the next. However the
// calls at one depth are stuck, the next depth has slots of its own to run in, down to depth 8
// with the default 1,024 slots (fewer with fewer slots). Within a subject, messages scripts
// requested run before the clients' waiting with them. A message published (nobody waits for
// it) is a client's.

// reservesOf is, by depth (0 to MaxDepth), how many slots must stay free after a message of that
// depth takes one: an eighth of MaxConcurrent, halved at each depth.
func reservesOf(o *Options) []int {
	r := make([]int, o.MaxDepth+1)
	for d := range r {
		r[d] = o.MaxConcurrent / 8 >> min(d, 62)
	}
	return r
}

// waitedDepth is a message's depth for the slots: one nobody waits for (published, not
// requested) is a client's, whatever its depth. The kept slots are for the calls that other
// calls wait on: a script publishing to others in a loop took them all.
func waitedDepth(m *nats.Msg) int {
	if m.Reply == "" {
		return 0
	}
	return callctx.ReadDepth(m)
}

// reserve is how many slots must stay free after a message of depth takes one.
func (d *dispatcher) reserve(depth int) int {
	if depth >= len(d.reserves) {
		return 0
	}
	return d.reserves[depth]
}

// backlog is a subject's messages waiting for a slot, oldest first from head.
type backlog struct {
	msgs []*nats.Msg
	head int
}

func (b *backlog) len() int { return len(b.msgs) - b.head }

func (b *backlog) push(m *nats.Msg) { b.msgs = append(b.msgs, m) }

func (b *backlog) peek() *nats.Msg { return b.msgs[b.head] }

func (b *backlog) pop() *nats.Msg {
	m := b.msgs[b.head]
	b.msgs[b.head] = nil
	b.head++
	if b.head == len(b.msgs) {
		b.msgs, b.head = b.msgs[:0], 0
	}
	return m
}
