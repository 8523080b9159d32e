package luapattern

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	for pattern, want := range map[string]string{
		"a%":                            "malformed pattern (ends with '%')",
		"[a":                            "malformed pattern (missing ']')",
		"[]":                            "malformed pattern (missing ']')",
		"[^]":                           "malformed pattern (missing ']')",
		"[a%":                           "malformed pattern (missing ']')",
		"(a":                            "unfinished capture",
		"((a)":                          "unfinished capture",
		"a)":                            "invalid pattern capture",
		"%0":                            "invalid capture index",
		"%b":                            "unbalanced pattern",
		"%bx":                           "unbalanced pattern",
		"%f":                            "missing '[' after '%f' in pattern",
		"%fx":                           "missing '[' after '%f' in pattern",
		"%f[x":                          "malformed pattern (missing ']')",
		strings.Repeat("a*b", MaxDepth): "pattern too complex",
	} {
		_, err := Compile(pattern)
		var perr *Error
		if err == nil || err.Error() != want || !errors.As(err, &perr) {
			t.Errorf("%.20q: error %v, want %q", pattern, err, want)
		}
	}
	for _, pattern := range []string{"", "^", "$", "^$", "a*$", "%b()", "%f[%w]", "()", "(a)%1", "[]]", "[%]]", "%%", strings.Repeat("a*", MaxDepth)} {
		if _, err := Compile(pattern); err != nil {
			t.Errorf("%.20q: %v", pattern, err)
		}
	}
}

func TestMatcherAPI(t *testing.T) {
	p, err := Compile("(%a+)=()(%d*)")
	if err != nil {
		t.Fatal(err)
	}
	if p.Captures() != 3 || p.IsPosition(0) || !p.IsPosition(1) || p.Anchored() {
		t.Fatalf("captures %d", p.Captures())
	}
	subject := "x, key=42; k=; z"
	m := p.NewMatcher(nil, subject)
	var got []string
	for init := 0; ; {
		start, end, err := m.Find(init)
		if err != nil {
			t.Fatal(err)
		}
		if start < 0 {
			break
		}
		s0, e0 := m.Capture(0)
		p1, _ := m.Capture(1)
		s2, e2 := m.Capture(2)
		got = append(got, fmt.Sprintf("%s|%s|%d|%s", subject[start:end], subject[s0:e0], p1, subject[s2:e2]))
		init = end
	}
	if want := "key=42|key|7|42 k=|k|13|"; strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
	if e, err := m.MatchAt(3); err != nil || e != 9 {
		t.Fatalf("MatchAt(3) = %d, %v", e, err)
	}
	if e, _ := m.MatchAt(2); e != -1 {
		t.Fatalf("MatchAt(2) = %d", e)
	}
	if e, _ := m.MatchAt(100); e != -1 {
		t.Fatalf("MatchAt(100) = %d", e)
	}

	// A back-reference to a capture not closed there fails when it is reached, not before.
	p, _ = Compile("b(a%1)")
	if s, _, err := p.NewMatcher(nil, "aaa").Find(0); s != -1 || err != nil {
		t.Fatalf("not reached: %d, %v", s, err)
	}
	if _, _, err := p.NewMatcher(nil, "baa").Find(0); err == nil || err.Error() != "invalid capture index" {
		t.Fatalf("reached: %v", err)
	}
}

func TestCacheEvicts(t *testing.T) {
	c := newLRU(4)
	pats := map[string]*Pattern{}
	for i := 0; i < 6; i++ {
		k := fmt.Sprint("p", i)
		pats[k] = &Pattern{}
		c.put(k, pats[k])
		if i == 3 {
			c.get("p0") // p0 becomes the most recent
		}
	}
	if c.order.Len() != 4 || len(c.index) != 4 {
		t.Fatalf("%d entries", c.order.Len())
	}
	for k, want := range map[string]bool{"p0": true, "p1": false, "p2": false, "p3": true, "p4": true, "p5": true} {
		if got := c.get(k) == pats[k]; got != want {
			t.Errorf("%s kept: %v", k, got)
		}
	}
	// Through compileCached: the same Pattern again, errors not kept.
	a, _ := compileCached("(%d+)x")
	b, _ := compileCached("(%d+)x")
	if a != b {
		t.Error("compiled twice")
	}
	if _, err := compileCached("(x"); err == nil {
		t.Error("no error")
	}
}
