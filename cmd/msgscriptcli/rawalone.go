package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
)

// rawAlone refuses what would put a `--* reply: raw` script on a subject beside another script:
// its return value is the whole reply, so it cannot be merged with theirs (the server would not
// serve it). Checked against the store and the other files added with it.
func rawAlone(ctx context.Context, st store.Store, adding []scriptFile) []error {
	stored, err := st.Scripts(ctx)
	if err != nil {
		return []error{fmt.Errorf("reading the stored scripts: %v", err)}
	}
	type entry struct {
		raw  bool
		from string // the file, or "" when stored
	}
	bySubject := map[string]map[string]entry{}
	put := func(subject, name string, text []byte, from string) {
		h, _ := script.ParseHeaders(text)
		if bySubject[subject] == nil {
			bySubject[subject] = map[string]entry{}
		}
		bySubject[subject][name] = entry{raw: h.RawReply, from: from}
	}
	for _, it := range stored {
		put(it.Subject, it.Name, it.Source, "")
	}
	for _, f := range adding {
		put(f.subject, f.name, f.text, f.path)
	}
	var problems []error
	for _, f := range adding {
		scripts := bySubject[f.subject]
		if len(scripts) < 2 {
			continue
		}
		var others, rawOthers []string
		for name, e := range scripts {
			if name == f.name {
				continue
			}
			others = append(others, name)
			if e.raw {
				rawOthers = append(rawOthers, name)
			}
		}
		slices.Sort(others)
		slices.Sort(rawOthers)
		switch {
		case scripts[f.name].raw:
			problems = append(problems, fmt.Errorf("%s: a `--* reply: raw` script must be alone on %s (its return value is the whole reply); also there: %s",
				f.path, f.subject, strings.Join(others, ", ")))
		case len(rawOthers) > 0:
			problems = append(problems, fmt.Errorf("%s: %s has a `--* reply: raw` script (%s), which must be the only one there; use another subject, or remove it first",
				f.path, f.subject, strings.Join(rawOthers, ", ")))
		}
	}
	return problems
}
