package engine

import (
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// maxErrorLen bounds one error description in a header.
const maxErrorLen = 4096

// newReply builds the answer to a message in normal mode: a JSON object from script name to the
// string it returned, as the original msgscript answered over HTTP. Scripts that failed are left
// out of the object and reported in the NATS micro error headers: Nats-Service-Error-Code (504
// when every failure was a timeout, 500 otherwise; 404 when no script was there) and one
// Nats-Service-Error value "name: message" per failed script.
//
// When an HTTP-mode script answered an HTTP request, its response is the reply instead (the first
// one by script name, should several scripts on the subject be in HTTP mode).
func newReply(inbox, subject string, results []result) *nats.Msg {
	for _, r := range results {
		if r.http != nil {
			return r.http.Msg(inbox)
		}
	}
	size := 2
	for _, r := range results {
		size += len(r.name) + len(r.body) + 6
	}
	data := append(make([]byte, 0, size), '{')
	var failed []result
	for _, r := range results { // sorted by name: the keys come out sorted
		if r.err != nil {
			failed = append(failed, r)
			continue
		}
		if len(data) > 1 {
			data = append(data, ',')
		}
		data = appendJSONString(data, r.name)
		data = append(data, ':')
		data = appendJSONString(data, r.body)
	}
	data = append(data, '}')
	msg := &nats.Msg{Subject: inbox, Data: data}

	switch {
	case len(results) == 0:
		// The script was removed between the message's arrival and now.
		msg.Header = nats.Header{}
		msg.Header.Set(micro.ErrorCodeHeader, "404")
		msg.Header.Set(micro.ErrorHeader, "no script listens on "+subject)
	case len(failed) > 0:
		msg.Header = nats.Header{}
		code := 504
		for _, r := range failed {
			if r.err.Code() != 504 {
				code = 500
			}
			msg.Header.Add(micro.ErrorHeader, headerSafe(r.name+": "+r.err.Msg))
		}
		msg.Header.Set(micro.ErrorCodeHeader, strconv.Itoa(code))
	}
	return msg
}

// headerSafe keeps an error message on one header line of bounded length.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen] + "..."
	}
	return s
}
