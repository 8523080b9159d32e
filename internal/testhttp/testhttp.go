// Package testhttp sends the HTTP requests of tests and reads their answers whole.
package testhttp

import (
	"io"
	"net/http"
	"testing"
)

// Response is what a request got back.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends a request with the given headers (name, value pairs) and reads the whole answer. It
// fails the test when no answer comes.
func Do(t testing.TB, method, url string, body io.Reader, header ...string) Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{resp.StatusCode, resp.Header, string(b)}
}
