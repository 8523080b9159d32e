package script

import (
	"errors"
	"fmt"
)

// Error is a problem located in a script or library: the file (or etcd key) it came from and the
// line, the way editors and compilers point at it. It reads "origin:line: message", or
// "origin: message" when the problem has no line (a missing library, say).
type Error struct {
	Origin string
	Line   int
	Msg    string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Origin, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Origin, e.Msg)
}

// ParseFile is ParseHeaders for the text of a file (or etcd key) named origin: each header error
// is an *Error that points at origin and the header's line (joined, in line order). Like
// ParseHeaders, it returns the headers it could read along with the error.
func ParseFile(origin string, src []byte) (Headers, error) {
	h, err := ParseHeaders(src)
	if err == nil {
		return h, nil
	}
	var located []error
	for _, e := range unjoin(err) {
		var he *HeaderError
		if errors.As(e, &he) {
			e = &Error{Origin: origin, Line: he.Line, Msg: he.Msg}
		}
		located = append(located, e)
	}
	return h, errors.Join(located...)
}

// WarningsAt are the headers' warnings located in origin, "origin:line: message".
func (h Headers) WarningsAt(origin string) []*Error {
	out := make([]*Error, len(h.Warnings))
	for i, w := range h.Warnings {
		out[i] = &Error{Origin: origin, Line: w.Line, Msg: w.Msg}
	}
	return out
}

// unjoin lists the errors errors.Join put together (err itself otherwise).
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
