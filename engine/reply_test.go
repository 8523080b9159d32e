package engine

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go/micro"
)

func TestNewReply(t *testing.T) {
	timeout := &CallError{Msg: "timed out after 1s", Timeout: true}
	failure := &CallError{Msg: "s.lua:3: boom\nsecond line"}
	cases := []struct {
		name    string
		results []result
		body    string
		code    string
		errors  []string
	}{
		{"all answer", []result{{name: "a", body: "1"}, {name: "b", body: `"q"`}}, `{"a":"1","b":"\"q\""}`, "", nil},
		{"one fails", []result{{name: "a", body: "1"}, {name: "b", err: failure}}, `{"a":"1"}`, "500", []string{"b: s.lua:3: boom second line"}},
		{"only timeouts", []result{{name: "a", err: timeout}}, `{}`, "504", []string{"a: timed out after 1s"}},
		{"timeout and failure", []result{{name: "a", err: timeout}, {name: "b", err: failure}}, `{}`, "500", []string{"a: timed out after 1s", "b: s.lua:3: boom second line"}},
		{"script gone", nil, `{}`, "404", []string{"no script listens on funcs.x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newReply("_INBOX.1", "funcs.x", c.results)
			if m.Subject != "_INBOX.1" || string(m.Data) != c.body {
				t.Fatalf("got %s %s, want %s", m.Subject, m.Data, c.body)
			}
			if got := m.Header.Get(micro.ErrorCodeHeader); got != c.code {
				t.Fatalf("code %q, want %q", got, c.code)
			}
			if got := m.Header.Values(micro.ErrorHeader); strings.Join(got, "|") != strings.Join(c.errors, "|") {
				t.Fatalf("errors %q, want %q", got, c.errors)
			}
		})
	}
}
