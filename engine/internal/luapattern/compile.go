package luapattern

// MaxDepth bounds how deep the matcher may recurse. It recurses once per quantified item (*, +,
// -, ?) that has more pattern after it, to try the rest of the pattern after each possible length
// of the item, and for nothing else, so the depth of a match is at most the number of such items
// plus one: a pattern with more of them is refused when compiled, with "pattern too complex",
// before any matching. C Lua (5.2 on) stops at 200 levels; a few thousand keep every pattern a
// script can reasonably write, while a level costs some hundreds of bytes of stack (the bound,
// about a megabyte), far below what a goroutine's stack may grow to (a gigabyte by default).
const MaxDepth = 3000

// The errors of a malformed pattern, worded as C Lua 5.1 words them, so that a script catching
// them with pcall sees the messages it would see in Lua. gopher-lua words some differently
// ("unexpected EOS at 3" for "malformed pattern (missing ']')", "invalid ')' at 0" for "invalid
// pattern capture"), see compat.go.
var (
	errEndsWithPercent = &Error{"malformed pattern (ends with '%')"}
	errMissingBracket  = &Error{"malformed pattern (missing ']')"}
	errUnfinished      = &Error{"unfinished capture"}
	errInvalidCapture  = &Error{"invalid pattern capture"}
	errInvalidIndex    = &Error{"invalid capture index"}
	errUnbalanced      = &Error{"unbalanced pattern"}
	errFrontierBracket = &Error{"missing '[' after '%f' in pattern"}
	errTooComplex      = &Error{"pattern too complex"}
)

// Error is the error of a malformed pattern, of one too complex (MaxDepth), or of a
// back-reference to a capture that is not closed where the match reaches it; its text is Lua's
// message, without position.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// op is what one instruction of a compiled pattern does.
type op uint8

const (
	opEnd      op = iota // the end of the pattern: the match succeeds
	opEOS                // '$' as the pattern's last character: the subject must end here
	opLit                // a run of plain characters
	opOne                // one character of a set
	opStar               // set*: as many as possible, then fewer
	opPlus               // set+: at least one, as many as possible
	opLazy               // set-: as few as possible, then more
	opOpt                // set?: one if possible, else none
	opOpen               // the start of capture n
	opClose              // the end of capture n
	opPos                // position capture n: ()
	opBackref            // %n: the text of capture n again
	opBadRef             // %n where capture n is not closed: "invalid capture index" when reached
	opBalance            // %bxy
	opFrontier           // %f[set]
)

// inst is one instruction; the fields used depend on op.
type inst struct {
	op   op
	a, b byte     // %bab
	n    int      // capture number, from 0
	set  *byteSet // the characters of opOne, the quantifiers and opFrontier
	lit  string   // opLit
}

// Pattern is a compiled pattern. It is immutable, so one Pattern serves any number of
// goroutines at once (the cache shares them).
type Pattern struct {
	insts    []inst
	anchored bool   // '^' at the start: a match only where the search starts
	ncap     int    // number of captures, position captures included
	position []bool // position[n]: capture n is a position capture
	// literal is the whole pattern when it is one run of plain characters with no anchor and
	// no capture: then a search is strings.Index.
	literal string
	// first, when not nil, holds every byte a match can start with, which lets a search skip
	// the positions where no match can start; nil when a match may be empty or start anyhow.
	first *byteSet
	depth int // how deep matching may recurse, at most
}

// Captures tells the number of captures, position captures included.
func (p *Pattern) Captures() int { return p.ncap }

// IsPosition tells whether capture n (from 0) is a position capture, "()", whose value is a
// position rather than a substring.
func (p *Pattern) IsPosition(n int) bool { return p.position[n] }

// Anchored tells whether the pattern starts with '^', so that it matches only where a search
// starts.
func (p *Pattern) Anchored() bool { return p.anchored }

// Compile compiles a Lua pattern. The errors are Lua's messages for malformed patterns.
func Compile(pattern string) (*Pattern, error) {
	c := compiler{p: pattern}
	return c.compile()
}

// item is a pattern item while the pattern is parsed; the items become instructions once the
// quantifiers have been attached and plain characters gathered into runs.
type item struct {
	inst
	single bool // one character of a set, with no quantifier yet: one may follow
	char   int  // for a plain character: the character, else -1
}

type compiler struct {
	p      string
	items  []item
	ncap   int
	pos    []bool // pos[n]: capture n is a position capture
	closed []bool // closed[n]: capture n has been closed by now (a position capture at once)
	open   []int  // the captures opened and not closed yet, innermost last
}

// compile parses the pattern the way gopher-lua reads it (see compat.go for where that differs
// from C Lua) in one pass from left to right: '^' anchors only as the first character and '$'
// only as the last one outside any capture, a quantifier applies to the single-character item
// just before it and is a plain character anywhere else (after a capture, %b, %f, a
// back-reference, another quantifier, or at the start).
func (c *compiler) compile() (*Pattern, error) {
	p := c.p
	prog := &Pattern{}
	i := 0
	if len(p) > 0 && p[0] == '^' {
		prog.anchored = true
		i = 1
	}
	for i < len(p) {
		ch := p[i]
		switch ch {
		case '(':
			if i+1 < len(p) && p[i+1] == ')' {
				c.add(item{inst: inst{op: opPos, n: c.newCapture(true)}, char: -1})
				i += 2
				continue
			}
			n := c.newCapture(false)
			c.open = append(c.open, n)
			c.add(item{inst: inst{op: opOpen, n: n}, char: -1})
			i++
		case ')':
			if len(c.open) == 0 {
				return nil, errInvalidCapture
			}
			n := c.open[len(c.open)-1]
			c.open = c.open[:len(c.open)-1]
			c.closed[n] = true
			c.add(item{inst: inst{op: opClose, n: n}, char: -1})
			i++
		case '%':
			if i+1 >= len(p) {
				return nil, errEndsWithPercent
			}
			e := p[i+1]
			switch {
			case e == '0':
				// gopher-lua refuses %0 when parsing, C Lua when matching reaches it.
				return nil, errInvalidIndex
			case '1' <= e && e <= '9':
				n := int(e - '1')
				o := opBackref
				if n >= c.ncap || !c.closed[n] {
					// Lua's error comes when the matcher reaches the item, not before:
					// a subject where it is never reached simply does not match.
					o = opBadRef
				}
				c.add(item{inst: inst{op: o, n: n}, char: -1})
				i += 2
			case e == 'b':
				if i+3 >= len(p) {
					return nil, errUnbalanced
				}
				c.add(item{inst: inst{op: opBalance, a: p[i+2], b: p[i+3]}, char: -1})
				i += 4
			case e == 'f':
				i += 2
				if i >= len(p) || p[i] != '[' {
					return nil, errFrontierBracket
				}
				set, next, err := parseSet(p, i+1)
				if err != nil {
					return nil, err
				}
				c.add(item{inst: inst{op: opFrontier, set: set}, char: -1})
				i = next
			default:
				it := item{inst: inst{op: opOne}, single: true, char: -1}
				if classSets[e] == nil {
					it.char = int(e)
				} else {
					it.set = classSets[e]
				}
				c.add(it)
				i += 2
			}
		case '[':
			set, next, err := parseSet(p, i+1)
			if err != nil {
				return nil, err
			}
			c.add(item{inst: inst{op: opOne, set: set}, single: true, char: -1})
			i = next
		case '.':
			c.add(item{inst: inst{op: opOne, set: anySet}, single: true, char: -1})
			i++
		case '*', '+', '-', '?':
			last := len(c.items) - 1
			if last >= 0 && c.items[last].single {
				it := &c.items[last]
				it.single = false
				if it.set == nil {
					it.set = singleton(byte(it.char))
					it.char = -1
				}
				it.op = quantifier(ch)
			} else {
				c.add(item{inst: inst{op: opOne}, single: true, char: int(ch)})
			}
			i++
		case '$':
			if i == len(p)-1 && len(c.open) == 0 {
				c.add(item{inst: inst{op: opEOS}, char: -1})
			} else {
				c.add(item{inst: inst{op: opOne}, single: true, char: '$'})
			}
			i++
		default:
			c.add(item{inst: inst{op: opOne}, single: true, char: int(ch)})
			i++
		}
	}
	if len(c.open) > 0 {
		return nil, errUnfinished
	}
	c.link(prog)
	if prog.depth > MaxDepth {
		return nil, errTooComplex
	}
	return prog, nil
}

func quantifier(ch byte) op {
	switch ch {
	case '*':
		return opStar
	case '+':
		return opPlus
	case '-':
		return opLazy
	}
	return opOpt
}

func (c *compiler) add(it item) { c.items = append(c.items, it) }

func (c *compiler) newCapture(position bool) int {
	n := c.ncap
	c.ncap++
	c.pos = append(c.pos, position)
	c.closed = append(c.closed, position)
	return n
}

// link turns the items into the program: plain characters with no quantifier are gathered into
// runs, compared at once; then come the facts the matcher and the search use.
func (c *compiler) link(prog *Pattern) {
	insts := make([]inst, 0, len(c.items)+1)
	for k := 0; k < len(c.items); k++ {
		it := c.items[k]
		if it.op == opOne && it.char >= 0 {
			run := []byte{byte(it.char)}
			for k+1 < len(c.items) && c.items[k+1].op == opOne && c.items[k+1].char >= 0 {
				k++
				run = append(run, byte(c.items[k].char))
			}
			insts = append(insts, inst{op: opLit, lit: string(run)})
			continue
		}
		insts = append(insts, it.inst)
	}
	insts = append(insts, inst{op: opEnd})
	prog.insts = insts
	prog.ncap = c.ncap
	prog.position = c.pos

	if !prog.anchored && len(insts) == 2 && insts[0].op == opLit {
		prog.literal = insts[0].lit
	}

	// Depth: one level per quantifier that has to try the rest of the pattern; one that
	// ends the pattern, or precedes only the final '$', decides alone (see match.go).
	prog.depth = 1
	for k, in := range insts {
		switch in.op {
		case opStar, opPlus, opLazy, opOpt:
			if next := insts[k+1].op; next != opEnd && next != opEOS {
				prog.depth++
			}
		}
	}

	// The bytes a match can start with: those of the first item that consumes a character
	// and cannot be skipped, past the captures' starts which consume none.
	if !prog.anchored {
	first:
		for _, in := range insts {
			switch in.op {
			case opOpen, opPos:
				continue
			case opLit:
				prog.first = singleton(in.lit[0])
			case opOne, opPlus:
				prog.first = in.set
			case opBalance:
				prog.first = singleton(in.a)
			}
			break first
		}
	}
}
