package luapattern

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// seedForTest is the seed of the random cases: LUAPATTERN_SEED, or 1 so that a run is
// repeatable.
func seedForTest() uint64 {
	if n, err := strconv.ParseUint(os.Getenv("LUAPATTERN_SEED"), 10, 64); err == nil && n != 0 {
		return n
	}
	return 1
}

// patternGen writes random small patterns from the grammar of Lua patterns, over the
// characters the random subjects are made of. It leaves out what this package deliberately does
// differently from gopher-lua (compat.go: %f, a pattern ending in '%', a short %b) and the one
// construct where gopher-lua's result depends on its internals, a back-reference to a capture
// still open inside a later one, but it makes malformed patterns now and then: an unclosed '(',
// a stray ')', an unclosed '['.
type patternGen struct {
	r      *rand.Rand
	b      strings.Builder
	opened int    // captures opened so far
	open   []int  // captures open now
	closed []bool // closed[k]: capture k+1 is closed (or a position capture)
}

var (
	genLiterals = []string{"a", "b", "c", "1", " ", "%.", "%(", "%)", "%%", "%-", "%]", "%[", "%*", "%?", "%+", "%^", "%$"}
	genClasses  = []string{"%a", "%d", "%s", "%w", "%l", "%u", "%p", "%x", "%c", "%z", "%A", "%D", "%S", "%W", "%L", "%U", "%P", "%X", "%C", "%Z"}
	genSetElems = []string{"a", "b", "c", "1", " ", "-", "%d", "%a", "%s", "a-c", "b-b", "0-9", "%]", ".", "%%", "(", ")", "%a-z", "a-%d", "^"}
	genQuants   = []string{"*", "+", "-", "?"}
)

func (g *patternGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *patternGen) single() {
	switch g.r.IntN(4) {
	case 0, 1:
		g.b.WriteString(g.pick(genLiterals))
	case 2:
		if g.r.IntN(3) == 0 {
			g.b.WriteString(".")
		} else {
			g.b.WriteString(g.pick(genClasses))
		}
	case 3:
		g.b.WriteByte('[')
		if g.r.IntN(3) == 0 {
			g.b.WriteByte('^')
		}
		if g.r.IntN(6) == 0 {
			g.b.WriteByte(']') // a ']' first is a plain one
		}
		for n := 1 + g.r.IntN(3); n > 0; n-- {
			g.b.WriteString(g.pick(genSetElems))
		}
		if g.r.IntN(40) != 0 {
			g.b.WriteByte(']')
		} else {
			return // unclosed: malformed
		}
	}
	if g.r.IntN(2) == 0 {
		g.b.WriteString(g.pick(genQuants))
	}
}

func (g *patternGen) pattern() string {
	g.b.Reset()
	g.opened, g.open, g.closed = 0, g.open[:0], g.closed[:0]
	if g.r.IntN(5) == 0 {
		g.b.WriteByte('^')
	}
	for n := g.r.IntN(7); n > 0; n-- {
		switch g.r.IntN(14) {
		case 0, 1, 2, 3, 4:
			g.single()
		case 5:
			if len(g.open) < 3 {
				g.b.WriteByte('(')
				g.opened++
				g.open = append(g.open, g.opened)
				g.closed = append(g.closed, false)
			}
		case 6:
			if len(g.open) > 0 {
				g.b.WriteByte(')')
				g.closed[g.open[len(g.open)-1]-1] = true
				g.open = g.open[:len(g.open)-1]
			} else if g.r.IntN(10) == 0 {
				g.b.WriteByte(')') // stray: malformed
			}
		case 7:
			g.b.WriteString("()")
			g.opened++
			g.closed = append(g.closed, true)
		case 8:
			k := 1 + g.r.IntN(3)
			// Capture k is closed, or does not exist yet, or is the last one opened: the
			// cases where gopher-lua's result does not depend on its internals.
			if k >= g.opened || g.closed[k-1] {
				g.b.WriteString("%" + string(rune('0'+k)))
			}
		case 9:
			g.b.WriteString(g.pick([]string{"%b()", "%bab", "%b))", "%b()*"}))
		case 10:
			g.b.WriteString(g.pick([]string{"]", "^", "$", "*", "+", "-", "?"}))
		case 11, 12, 13:
			g.single()
		}
	}
	for len(g.open) > 0 && g.r.IntN(15) != 0 {
		g.b.WriteByte(')')
		g.open = g.open[:len(g.open)-1]
	}
	if g.r.IntN(5) == 0 {
		g.b.WriteByte('$')
	}
	return g.b.String()
}

func randSubject(r *rand.Rand) string {
	const alphabet = "aaabbc1 ().-A]%\x00"
	b := make([]byte, r.IntN(13))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// TestDifferentialRandom compares this package's functions with gopher-lua's on thousands of
// random patterns and subjects. A case where gopher-lua crashes (a Go runtime error) is skipped;
// one where it raises an error must be an error here too, with an equivalent message.
func TestDifferentialRandom(t *testing.T) {
	cases := 20000
	if testing.Short() {
		cases = 3000
	}
	p := newPair(t)
	r := rand.New(rand.NewPCG(seedForTest(), 2))
	g := &patternGen{r: r}
	kinds := []string{"find", "match", "gmatch", "gsubs", "gsubf", "gsubt"}
	repls := []string{"<%0>", "%1", "[%1%2]", "%%", "x%y", "", "%", "%0%0"}
	var compared, errs, skipped, matched int
	for i := 0; i < cases; i++ {
		pat := g.pattern()
		s := randSubject(r)
		kind := kinds[r.IntN(len(kinds))]
		init := r.IntN(len(s)+8) - 4
		if strings.HasPrefix(kind, "gsub") {
			init = []int{-1, -1, -1, 0, 1, 2, 5}[r.IntN(7)]
		}
		repl := repls[r.IntN(len(repls))]
		orig := normalize(probe(t, p.orig, kind, s, pat, init, repl))
		mine := normalize(probe(t, p.mine, kind, s, pat, init, repl))
		if strings.Contains(orig, "runtime error") {
			skipped++
			continue
		}
		compared++
		if strings.HasPrefix(orig, "ERR") {
			errs++
		} else if !strings.HasPrefix(orig, "1 nil") && orig != "0" && !strings.Contains(orig, `"0: "`) {
			matched++
		}
		if orig != mine {
			t.Errorf("%s(%q, %q, init/n %d, repl %q)\n  gopher-lua: %s\n  luapattern: %s", kind, s, pat, init, repl, orig, mine)
		}
	}
	t.Logf("%d cases compared (%d errors, %d with a match), %d skipped where gopher-lua crashes", compared, errs, matched, skipped)
	if compared < cases*9/10 || matched < cases/5 || errs == 0 {
		t.Errorf("the generator is off: %d compared, %d matched, %d errors", compared, matched, errs)
	}
}
