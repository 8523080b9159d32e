package script

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseHeaders(t *testing.T) {
	src := "--* subject: funcs.hello\n" +
		"  --* name: hello\r\n" +
		"--* require: web\n" +
		"--* REQUIRE: util\n" +
		"--* html: true\n" +
		"--* timeout: 250ms\n" +
		"-- an ordinary comment: not a header\n" +
		"function OnMessage(s, p) return p end\n"
	h, err := ParseHeaders([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := Headers{Subject: "funcs.hello", Name: "hello", Requires: []string{"web", "util"}, HTTP: true, Timeout: 250 * time.Millisecond}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got %+v, want %+v", h, want)
	}
}

func TestParseHeadersErrors(t *testing.T) {
	cases := []struct{ src, line, msg string }{
		{"--* subject: a\n--* timout: 5s\n", "line 2", `unknown header "timout"`},
		{"--* subject: a\n--* subject: b\n", "line 2", "repeats the one on line 1"},
		{"--* http: true\n--* html: false\n", "line 2", "repeats"},
		{"\n\n--* timeout: forever\n", "line 3", "positive duration"},
		{"--* timeout: -1s\n", "line 1", "positive duration"},
		{"--* http: maybe\n", "line 1", "true or false"},
		{"--* subject\n", "line 1", "malformed header"},
		{"--* name:\n", "line 1", "has no value"},
		{"--* subject: >\n", "line 1", "wildcard"},
		{"--* name: a/b\n", "line 1", "contains '/'"},
	}
	for _, c := range cases {
		_, err := ParseHeaders([]byte(c.src))
		var he *HeaderError
		if !errors.As(err, &he) {
			t.Errorf("%q: got %v, want a HeaderError", c.src, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.line) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: got %q, want %s ... %s", c.src, err, c.line, c.msg)
		}
	}
}

// A store needs the subject and name of a script even when another header is wrong, so that the
// error is reported against that script instead of the file silently vanishing.
func TestParseHeadersKeepsWhatItReadOnError(t *testing.T) {
	h, err := ParseHeaders([]byte("--* subject: funcs.a\n--* bogus: 1\n--* name: a\n"))
	if err == nil {
		t.Fatal("want an error for the unknown header")
	}
	if h.Subject != "funcs.a" || h.Name != "a" {
		t.Fatalf("got %+v, want subject and name read", h)
	}
}
