package luamods

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// smallText is as much text as a boundedText takes without asking for room.
const smallText = 64 << 10

// boundedText is a text Go code writes for a call (a template's, a command's output): it grows in
// room admitted under the memory limit (callctx.Admit), up to the call's value bound; past either
// it refuses every write, and stopped tells why (mustache goes on after a write's error and
// returns none). onStop, when set, runs once then (a command is ended, with its children).
type boundedText struct {
	strings.Builder
	ctx      context.Context
	what     string // what the text is, for the error: "template: the text"
	max      int
	room     int
	releases []func()
	stopped  error
	onStop   func()
}

func newBoundedText(L *lua.LState, what string) *boundedText {
	return &boundedText{ctx: L.Context(), what: what, max: callctx.ValueBound(L.Context())}
}

func (b *boundedText) Write(p []byte) (int, error) {
	if b.stopped != nil {
		return 0, b.stopped
	}
	need := b.Len() + len(p)
	if need > b.max {
		return 0, b.stop(fmt.Errorf("%s would be over %d bytes, the largest value a call may make (a quarter of memory_limit)", b.what, b.max))
	}
	if need > b.room && need > smallText {
		grow := max(need-b.room, b.room, 1<<20)
		release, err := callctx.Admit(b.ctx, grow)
		if err != nil {
			return 0, b.stop(fmt.Errorf("%s: %w", b.what, err))
		}
		b.releases = append(b.releases, release)
		b.room += grow
	}
	return b.Builder.Write(p)
}

func (b *boundedText) stop(err error) error {
	b.stopped = err
	if b.onStop != nil {
		b.onStop()
	}
	return err
}

// release gives back the room admitted: the text is made.
func (b *boundedText) release() {
	for _, r := range b.releases {
		r()
	}
}

// readFile reads a file whole into a boundedText (/dev/zero, read whole, ended the process); what
// names the file in the error past the bound.
func readFile(L *lua.LState, path, what string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	out := newBoundedText(L, what)
	defer out.release()
	if _, err := io.Copy(out, f); err != nil {
		return "", err
	}
	return out.String(), nil
}
