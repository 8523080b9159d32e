package luapattern

// byteSet is the set of bytes that one single-character pattern item accepts. Every form such an
// item takes (a plain character, '.', an escape like %a, a bracket set [...]) is reduced to one
// when the pattern is compiled, so that matching a character is one table look-up whatever the
// item looked like, and the loops of the quantifiers stay tight.
type byteSet [256]bool

// anySet is '.': every byte.
var anySet = func() *byteSet {
	var s byteSet
	for i := range s {
		s[i] = true
	}
	return &s
}()

// classSets holds the set of each class escape, %a and %A alike, indexed by the letter; nil for
// any other character, which an escape then stands for literally (%. is '.', %q is 'q').
var classSets = func() (t [256]*byteSet) {
	for _, l := range "acdlpsuwxz" {
		var lower, upper byteSet
		for c := 0; c < 256; c++ {
			lower[c] = inClass(byte(l), byte(c))
			upper[c] = !lower[c]
		}
		t[l], t[l-'a'+'A'] = &lower, &upper
	}
	return t
}()

// inClass tells whether c is in the class of the lower-case letter l, as the C library's
// functions in the "C" locale see it (as Lua 5.1 and gopher-lua do): ASCII only, so no byte
// over 127 is a letter, a digit, a space or a punctuation character.
func inClass(l, c byte) bool {
	switch l {
	case 'a':
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	case 'c':
		return c < 0x20 || c == 0x7f
	case 'd':
		return '0' <= c && c <= '9'
	case 'l':
		return 'a' <= c && c <= 'z'
	case 'p':
		return 0x21 <= c && c <= 0x2f || 0x3a <= c && c <= 0x40 || 0x5b <= c && c <= 0x60 || 0x7b <= c && c <= 0x7e
	case 's':
		return c == ' ' || '\t' <= c && c <= '\r'
	case 'u':
		return 'A' <= c && c <= 'Z'
	case 'w':
		return inClass('a', c) || inClass('d', c)
	case 'x':
		return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
	case 'z':
		return c == 0
	}
	return false
}

// singleton returns the set of just c, for a plain character that a quantifier follows.
func singleton(c byte) *byteSet {
	var s byteSet
	s[c] = true
	return &s
}

// setElem is one element of a bracket set while it is parsed: a plain character, an escape
// (%a, %]), or a range.
type setElem struct {
	kind   int // elemChar, elemEscape or elemRange
	c      byte
	lo, hi byte
	valid  bool // for a range: both ends were plain characters
}

const (
	elemChar = iota
	elemEscape
	elemRange
)

// parseSet reads a bracket set whose '[' is just before p[i], and returns its set and the index
// just past its ']'.
//
// The reading is gopher-lua's, which differs from C Lua's in one corner, kept for the scripts
// that run on gopher-lua today (see compat.go): a '-' that follows an element and is not the last
// character before ']' always makes a range with the next element, and a range one of whose ends
// is not a plain character (an escape like %a or %], or an earlier range) contains nothing. So
// "[%a-z]" is the empty set where C Lua reads letters, '-' and 'z', "[a-b-c]" is empty where C
// Lua reads a, b, '-' and c, and "[a--]" is 'a' and '-' where C Lua reads the empty range a..'-'.
func parseSet(p string, i int) (*byteSet, int, error) {
	negate := false
	if i < len(p) && p[i] == '^' {
		negate = true
		i++
	}
	var elems []setElem
	pendingRange := false
	for {
		if i >= len(p) {
			return nil, 0, errMissingBracket
		}
		c := p[i]
		if c == ']' && len(elems) > 0 {
			i++
			break
		}
		if c == '-' && len(elems) > 0 {
			// Whether it makes a range is known with the next element; a '-' just before
			// ']' stays a plain '-'.
			i++
			pendingRange = true
			continue
		}
		e := setElem{kind: elemChar, c: c}
		if c == '%' {
			if i+1 >= len(p) {
				return nil, 0, errMissingBracket
			}
			e = setElem{kind: elemEscape, c: p[i+1]}
			i++
		}
		i++
		if pendingRange {
			begin := elems[len(elems)-1]
			elems = elems[:len(elems)-1]
			e = setElem{kind: elemRange, lo: begin.c, hi: e.c, valid: begin.kind == elemChar && e.kind == elemChar}
			pendingRange = false
		}
		elems = append(elems, e)
	}
	if pendingRange {
		elems = append(elems, setElem{kind: elemChar, c: '-'})
	}
	var s byteSet
	for _, e := range elems {
		switch e.kind {
		case elemChar:
			s[e.c] = true
		case elemEscape:
			if cs := classSets[e.c]; cs != nil {
				for b, in := range cs {
					s[b] = s[b] || in
				}
			} else {
				s[e.c] = true
			}
		case elemRange:
			if e.valid {
				for b := int(e.lo); b <= int(e.hi); b++ {
					s[b] = true
				}
			}
		}
	}
	if negate {
		for b := range s {
			s[b] = !s[b]
		}
	}
	return &s, i, nil
}
