package luamods

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/cbroglie/mustache"
	lua "github.com/yuin/gopher-lua"
)

// mustache parses a section by calling itself for the sections inside it, and renders every
// section once for each item of its list, checking nothing: "{{#a}}" three million times
// overflowed the parser's stack and ended the process, and four sections nested over a list of
// 1,000 empty tables ({{#a}}{{#a}}{{#a}}{{#a}}...) rendered nothing for hours, out of reach of
// the call's deadline and of the text's bound. So a template is read before mustache parses it,
// estimated before it renders, and stopped as it renders (renderWithin).
const (
	// maxSectionDepth bounds sections nested in one another, as tables given to a module are
	// bounded (100 deep).
	maxSectionDepth = 100
	// maxNameParts bounds the parts of a dotted name (a.b.c): mustache looks each up by calling
	// itself, and a name of 1,300,000 dots overflowed its stack.
	maxNameParts = 100
	// maxSectionRepeats bounds how many times a template's sections may render, at most: about
	// a second of rendering.
	maxSectionRepeats = 10_000_000
)

// checkTags reads the tags of a template as mustache's parser reads them (delimiters it sets,
// and the line ends it takes with a standalone tag, included) and refuses sections nested over
// maxSectionDepth deep and names of over maxNameParts parts. Where the parser would fail, the
// check stops: the parser says what is wrong, no deeper than the check went.
func checkTags(data string) error {
	otag, ctag := "{{", "}}"
	var open []string // the names of the sections open, innermost last
	for p := 0; ; {
		i := strings.Index(data[p:], otag)
		if i < 0 {
			return nil
		}
		start := p
		p += i + len(otag)
		j := p - len(otag)
		for j > start && (data[j-1] == ' ' || data[j-1] == '\t') {
			j--
		}
		mayStandalone := j == 0 || data[j-1] == '\n'

		closing := ctag
		if p < len(data) && data[p] == '{' {
			closing = "}" + ctag
		}
		k := strings.Index(data[p:], closing)
		if k < 0 {
			return nil
		}
		tag := strings.TrimSpace(data[p : p+k+len(closing)-len(ctag)])
		p += k + len(closing)
		if tag == "" {
			return nil
		}
		if mayStandalone && strings.Contains(mustache.SkipWhitespaceTagTypes, tag[:1]) {
			eow := p
			for x := p; x < len(data); x++ {
				if data[x] != ' ' && data[x] != '\t' {
					eow = x
					break
				}
			}
			switch {
			case eow == len(data):
				p = eow
			case data[eow] == '\n':
				p = eow + 1
			case eow+1 < len(data) && data[eow] == '\r' && data[eow+1] == '\n':
				p = eow + 2
			}
		}

		if tag[0] != '!' && tag[0] != '=' && strings.Count(tag, ".") > maxNameParts {
			return fmt.Errorf("template: a name of more than %d parts", maxNameParts)
		}
		switch tag[0] {
		case '#', '^':
			open = append(open, strings.TrimSpace(tag[1:]))
			if len(open) > maxSectionDepth {
				return fmt.Errorf("template: sections nested more than %d deep", maxSectionDepth)
			}
		case '/':
			if len(open) == 0 || strings.TrimSpace(tag[1:]) != open[len(open)-1] {
				return nil
			}
			open = open[:len(open)-1]
		case '=':
			if tag[len(tag)-1] != '=' {
				return nil
			}
			if d := strings.SplitN(strings.TrimSpace(tag[1:len(tag)-1]), " ", 2); len(d) == 2 {
				otag, ctag = d[0], d[1]
			}
		}
	}
}

// checkSectionRepeats refuses a template whose sections could render more than
// maxSectionRepeats times with values. A section finds its list by name anywhere up the items
// it is in, so it is counted as repeating as often as the longest list of that name anywhere in
// values ("." : the longest list in a list), times the repeats of the sections around it.
func checkSectionRepeats(tags []mustache.Tag, values any) error {
	lengths := map[string]int{}
	listLengths(values, "", lengths)
	total := 0.0 // counted until it is over the bound
	var count func(tags []mustache.Tag, times float64)
	count = func(tags []mustache.Tag, times float64) {
		for _, t := range tags {
			switch t.Type() {
			case mustache.Section:
				name := t.Name()
				if i := strings.LastIndexByte(name, '.'); i >= 0 && name != "." {
					name = name[i+1:]
				}
				n := times * float64(max(1, lengths[name]))
				total += n
				if total <= maxSectionRepeats {
					count(t.Tags(), n)
				}
			case mustache.InvertedSection: // renders once, or not at all
				total += times
				count(t.Tags(), times)
			}
		}
	}
	count(tags, 1)
	if total > maxSectionRepeats {
		return fmt.Errorf("template: its sections could render more than %d times with these values (sections nested over long lists)", maxSectionRepeats)
	}
	return nil
}

// listLengths records in lengths the longest list under each name in v (tables nest at most 100
// deep: the module's arguments are checked).
func listLengths(v any, name string, lengths map[string]int) {
	switch v := v.(type) {
	case []any:
		lengths[name] = max(lengths[name], len(v))
		for _, e := range v {
			listLengths(e, ".", lengths)
		}
	case map[string]any:
		for k, e := range v {
			listLengths(e, k, lengths)
		}
	case map[any]any:
		for k, e := range v {
			s, _ := k.(string)
			listLengths(e, s, lengths)
		}
	}
}

// maxPartials bounds the partials one rendering reads: mustache reads and parses a partial again
// each time it renders it, and a partial that includes itself never ends.
const maxPartials = 10_000

// partialFiles gives a template rendered outside the sandbox its partials ({{> name}}) from
// files, found as mustache's own provider finds them (the file name, name.mustache or
// name.stache, in $CWD), read within the call's value bound and held to the template's limits.
// mustache drops the errors of partials inside sections, so the first is kept in failed, for
// render to raise.
type partialFiles struct {
	L      *lua.LState
	left   int
	failed error
}

func (pf *partialFiles) Get(name string) (string, error) {
	if pf.failed != nil {
		return "", pf.failed
	}
	if pf.left--; pf.left < 0 {
		return pf.fail(fmt.Errorf("template: more than %d partials rendered", maxPartials))
	}
	file := ""
	for _, dir := range []string{os.Getenv("CWD"), " "} { // mustache's paths; the last found wins
		for _, ext := range []string{"", ".mustache", ".stache"} {
			if f := path.Join(dir, name+ext); fileExists(f) {
				file = f
				break
			}
		}
	}
	if file == "" {
		return "", nil // rendered as nothing, as mustache does
	}
	text, err := readFile(pf.L, file, "template: the partial "+name)
	if err == nil {
		err = checkTags(text)
	}
	if err != nil {
		return pf.fail(err)
	}
	return text, nil
}

func (pf *partialFiles) fail(err error) (string, error) {
	pf.failed = err
	return "", err
}

func fileExists(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// renderWithin renders tmpl into out until out stops (the text past its bound or its room) or the
// call's deadline passes. mustache goes on rendering after its writer's errors, and a text of
// nothing is never written past the bound (1,000 escaped bytes 9 million times rendered for
// 112 s, and sections of nothing for hours): so once stopped, the next write panics, which ends the
// rendering there. (A panic inside a variable's output is caught and printed by mustache, which
// then goes on to the text after it, whose write ends the rendering: a line on the standard output
// at most, for a rendering stopped.)
func renderWithin(tmpl *mustache.Template, out *boundedText, values any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(renderStopped); !ok {
				panic(r)
			}
		}
	}()
	return tmpl.FRender(renderText{out}, values)
}

// renderStopped is renderText's panic. What mustache prints of one it catches says what it is.
type renderStopped struct{}

func (renderStopped) String() string {
	return "msgscript stopped the rendering: its text went over the bound, or the call's deadline passed"
}

// renderText is a template's text as mustache writes it: bounded, deadline included.
type renderText struct{ *boundedText }

func (t renderText) Write(p []byte) (int, error) {
	if t.stopped != nil {
		panic(renderStopped{})
	}
	if t.ctx != nil {
		select {
		case <-t.ctx.Done():
			return 0, t.stop(fmt.Errorf("template: %w", t.ctx.Err()))
		default:
		}
	}
	return t.boundedText.Write(p)
}
