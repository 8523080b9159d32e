package main

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// terminalSafe writes text that came from elsewhere (a script's error holds what any client sent
// it) with what a terminal would act on written as Go escapes (\x1b, \u009b): the control
// characters but tab and newline, and invalid UTF-8 (\xff). A client's ESC sequences could
// otherwise clear the operator's screen, retitle the window or write the clipboard (OSC 52)
// through `status`, an `invoke` error or a listed name. Each Write is taken as whole characters,
// as fmt and tabwriter write them.
type terminalSafe struct{ w io.Writer }

func (t terminalSafe) Write(p []byte) (int, error) {
	var out []byte // nil while nothing needs escaping: p goes out as it is
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		control := r != '\n' && r != '\t' && unicode.IsControl(r)
		var escaped []byte
		switch {
		case r == utf8.RuneError && size == 1, control && r < utf8.RuneSelf:
			escaped = fmt.Appendf(nil, `\x%02x`, p[i])
		case control:
			escaped = fmt.Appendf(nil, `\u%04x`, r)
		}
		switch {
		case escaped != nil:
			if out == nil {
				out = append(make([]byte, 0, len(p)+16), p[:i]...)
			}
			out = append(out, escaped...)
		case out != nil:
			out = append(out, p[i:i+size]...)
		}
		i += size
	}
	if out == nil {
		return t.w.Write(p)
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
