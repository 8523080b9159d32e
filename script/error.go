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

// ParseFile is ParseHeaders for the text of a file (or etcd key) named origin: a header error is
// an *Error that points at origin and the header's line. Like ParseHeaders, it returns the headers
// it could read along with the error.
func ParseFile(origin string, src []byte) (Headers, error) {
	h, err := ParseHeaders(src)
	var he *HeaderError
	if errors.As(err, &he) {
		return h, &Error{Origin: origin, Line: he.Line, Msg: he.Msg}
	}
	return h, err
}
