package main

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// terminalSafe writes text that came from elsewhere (a script's error holds what any client sent
// it) with what a terminal would act on written as Go escapes (\x1b, \u009b): the C0 controls but
// tab and newline, DEL, the C1 controls and invalid UTF-8 (\xff). A client's ESC sequences could
// otherwise clear the operator's screen, retitle the window or write the clipboard (OSC 52)
// through `status`, an `invoke` error or a listed name. Each Write is taken as whole characters, as fmt and
// tabwriter write them.
type terminalSafe struct{ w io.Writer }

func (t terminalSafe) Write(p []byte) (int, error) {
	if printable(p) {
		return t.w.Write(p)
	}
	out := make([]byte, 0, len(p)+16)
	for rest := p; len(rest) > 0; {
		r, size := utf8.DecodeRune(rest)
		switch {
		case r == utf8.RuneError && size == 1:
			out = fmt.Appendf(out, `\x%02x`, rest[0])
		case r < 0x80 && control(r):
			out = fmt.Appendf(out, `\x%02x`, r)
		case control(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, rest[:size]...)
		}
		rest = rest[size:]
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// control tells the characters a terminal acts on, but tab and newline.
func control(r rune) bool {
	return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0
}

// printable: p is valid UTF-8 with no control.
func printable(p []byte) bool {
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size == 1 || control(r) {
			return false
		}
		p = p[size:]
	}
	return true
}
