package main

import (
	"context"
	"fmt"
	"os"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/dirstore"
)

// scriptFile is a script read from disk, with the subject and name it is stored under.
type scriptFile struct {
	path    string
	subject string
	name    string
	text    []byte
}

// readSource reads a script or library and its headers; a header error reads file:line: message.
func readSource(path string) ([]byte, script.Headers, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, script.Headers{}, err
	}
	h, err := script.ParseFile(path, text)
	for _, w := range h.WarningsAt(path) {
		// Loaded all the same, as the server does: said, so that a slip (subjet:) is seen.
		fmt.Fprintf(os.Stderr, "msgscriptcli: warning: %v\n", w)
	}
	return text, h, err
}

// readScript reads a script; subject and name come from the flags when given, else from its
// headers (the name defaulting to the file name).
func readScript(path, subject, name string) (scriptFile, error) {
	if dirstore.IsTestFile(path) {
		// `add *.lua` picks them up; the server would never load one as a script.
		return scriptFile{}, fmt.Errorf("%s: a test file (*_test.lua) is no script: run it with msgscriptcli test", path)
	}
	text, h, err := readSource(path)
	if err != nil {
		return scriptFile{}, err
	}
	f := scriptFile{path: path, subject: subject, name: name, text: text}
	if f.subject == "" {
		f.subject = h.Subject
	} else if h.Subject != "" && h.Subject != f.subject {
		// Allowed (one file serving two subjects), but the header then misleads whoever reads
		// the script: the server says it too.
		fmt.Fprintf(os.Stderr, "msgscriptcli: warning: %s:%d: header subject %q differs from -s %s, which the script is stored and served under\n",
			path, h.SubjectLine, h.Subject, f.subject)
	}
	if f.name == "" {
		f.name = h.NameFor(path)
	}
	if f.subject == "" {
		return scriptFile{}, fmt.Errorf("%s: no subject: add a `--* subject: <subject>` line or pass -s", path)
	}
	if err := script.ValidatePattern(f.subject); err != nil {
		return scriptFile{}, fmt.Errorf("%s: %v", path, err)
	}
	if err := script.ValidateName(f.name); err != nil {
		return scriptFile{}, fmt.Errorf("%s: %v", path, err)
	}
	return f, nil
}

// libraries maps library names to their text, for compiling.
type libraries map[string]engine.Source

func (l libraries) lookup(name string) (engine.Source, bool) {
	src, ok := l[name]
	return src, ok
}

// storedLibraries reads every library of the store.
func storedLibraries(ctx context.Context, st store.Store) (libraries, error) {
	items, err := st.Libraries(ctx)
	if err != nil {
		return nil, err
	}
	libs := libraries{}
	for _, it := range items {
		libs[it.Name] = engine.Source{Origin: it.Origin, Text: it.Source}
	}
	return libs, nil
}

// compile checks that a script or library compiles with the given libraries, the way the server
// will compile it; errors read file:line: message.
func compile(path string, text []byte, libs libraries) error {
	_, err := engine.Compile(engine.Source{Origin: path, Text: text}, libs.lookup)
	return err
}
