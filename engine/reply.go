package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// maxErrorLen bounds one error message, in a reply's header and in the log: a script can raise an
// error of any size, and a 10 MB message would be a 10 MB log line per call.
const maxErrorLen = 4096

// newReply builds the answer to a message in normal mode: a JSON object from script name to the
// string it returned, as the original msgscript answered over HTTP. Scripts that failed are left
// out of the object and reported in the NATS micro error headers: Nats-Service-Error-Code (504
// when every failure was a timeout, 500 otherwise; 404 when no script was there) and one
// Nats-Service-Error value "name: message" per failed script.
//
// When an HTTP-mode script answered an HTTP request, its response is the reply instead (the first
// one by script name, should several scripts on the subject be in HTTP mode); when a `--* reply:
// raw` script answered (it is alone on its subject), what it returned is.
func newReply(inbox, subject string, results []result) *nats.Msg {
	for _, r := range results {
		if r.http != nil {
			return r.http.Msg(inbox)
		}
	}
	if len(results) == 1 && results[0].raw && results[0].err == nil {
		return rawReply(inbox, results[0].body)
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
		return failureReply(inbox, 404, "no script listens on "+subject)
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

// rawReply is the reply of a `--* reply: raw` script: what it returned, as it is. Its Content-Type
// header tells the HTTP handler what it is: JSON when it parses as JSON, else text, else bytes
// (never sniffed: a script echoing its input must not become an HTML page on the server's origin).
func rawReply(inbox, body string) *nats.Msg {
	ct := "application/octet-stream"
	switch {
	case json.Valid([]byte(body)):
		ct = "application/json"
	case utf8.ValidString(body):
		ct = "text/plain; charset=utf-8"
	}
	return &nats.Msg{Subject: inbox, Data: []byte(body), Header: nats.Header{"Content-Type": []string{ct}}}
}

// failureReply is a reply that says only that the call failed, with the NATS micro error headers.
func failureReply(inbox string, code int, msg string) *nats.Msg {
	m := &nats.Msg{Subject: inbox, Data: []byte("{}"), Header: nats.Header{}}
	m.Header.Set(micro.ErrorCodeHeader, strconv.Itoa(code))
	m.Header.Set(micro.ErrorHeader, headerSafe(msg))
	return m
}

// headerSafe keeps an error message (bounded by truncate when it was made) on one header line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// truncate bounds an error message to maxErrorLen bytes, saying how long it was.
func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes in all)", strings.ToValidUTF8(s[:maxErrorLen], ""), len(s))
}
