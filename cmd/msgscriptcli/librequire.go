package main

import (
	"context"
	"slices"

	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
)

// requiredBy lists the stored scripts (subject/name, sorted) that require library name, directly
// or through the libraries they require: removing it would leave each of them failing to compile
// at its next load. Headers are read as the server reads them; a script whose headers are wrong
// still counts for the requires that could be read.
func requiredBy(ctx context.Context, st store.Store, name string) ([]string, error) {
	libs, err := st.Libraries(ctx)
	if err != nil {
		return nil, err
	}
	libRequires := map[string][]string{}
	for _, it := range libs {
		h, _ := script.ParseHeaders(it.Source)
		libRequires[it.Name] = h.Requires
	}
	scripts, err := st.Scripts(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, it := range scripts {
		h, _ := script.ParseHeaders(it.Source)
		if reaches(h.Requires, name, libRequires) {
			users = append(users, it.Subject+"/"+it.Name)
		}
	}
	slices.Sort(users)
	return users, nil
}

// reaches tells whether requires, or what the libraries they name require in turn, include name.
// Libraries are visited once, so a cycle of requires ends.
func reaches(requires []string, name string, libRequires map[string][]string) bool {
	seen := map[string]bool{}
	for len(requires) > 0 {
		lib := requires[0]
		requires = requires[1:]
		if lib == name {
			return true
		}
		if !seen[lib] {
			seen[lib] = true
			requires = append(requires, libRequires[lib]...)
		}
	}
	return false
}
