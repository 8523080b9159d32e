package caddymodule

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// Request bodies are read into buffers that grow as their bytes arrive, and all the bodies being
// read in the process share a budget. A buffer of the declared Content-Length made before any
// byte came let 2,000 connections that sent headers only take 2 GB and end the process; and 900
// slow clients sending almost 1 MiB each held 1 GB, until every call failed for memory.

// bodiesBudget is the memory the request bodies being read may hold at once. A request that would
// take more gets 503, unless it is the only one reading: a body up to max_body always fits alone.
// A body of at most firstBodyBuffer declared bytes is read outside it: 64 slow clients filling
// the budget would otherwise refuse every webhook (an attacker would need 130,000 connections to
// hold as much in small bodies).
var bodiesBudget int64 = 64 << 20

// bodiesHeld is what the bodies being read hold of the budget.
var bodiesHeld atomic.Int64

// firstBodyBuffer is the first buffer of a body whose length is not known or larger: a request
// that declares a large body and sends nothing holds no more.
const firstBodyBuffer = 512

// errBodiesBusy refuses a body for which the budget has no room.
var errBodiesBusy = errors.New("the server is reading as many request bodies as it has room for; try again")

// holdBody takes n more bytes of the budget for a body that holds own bytes already.
func holdBody(own, n int) bool {
	for {
		held := bodiesHeld.Load()
		if held > int64(own) && held+int64(n) > bodiesBudget {
			return false
		}
		if bodiesHeld.CompareAndSwap(held, held+int64(n)) {
			return true
		}
	}
}

// releaseBody gives back what a body held of the budget.
func releaseBody(held int) { bodiesHeld.Add(-int64(held)) }

// readBody reads a request body of at most maxBody bytes (a known Content-Length is at most that:
// checked by the caller), and says how much of the budget it holds. A small body of known length
// is read into a buffer of its size, once; a larger one into a buffer that doubles as it fills, at
// most to its length, taking its room from the budget as it grows. The caller gives the room back
// with releaseBody once done with the body; on an error it is given back here.
func readBody(w http.ResponseWriter, r *http.Request, maxBody int64) (body []byte, held int, err error) {
	src, limit := io.Reader(r.Body), r.ContentLength
	if limit < 0 {
		// Of unknown length: MaxBytesReader fails past maxBody (413), and tells net/http to close the
		// connection rather than read the rest.
		src, limit = http.MaxBytesReader(w, r.Body, maxBody), maxBody+1
	}
	small := r.ContentLength >= 0 && limit <= firstBodyBuffer
	defer func() {
		if err != nil {
			releaseBody(held)
			body, held = nil, 0
		}
	}()
	for {
		if len(body) == cap(body) {
			if int64(len(body)) == limit {
				if r.ContentLength < 0 { // not so: MaxBytesReader fails first
					return body, held, &http.MaxBytesError{Limit: maxBody}
				}
				return body, held, nil // the declared length is read
			}
			size := int(min(limit, max(2*int64(cap(body)), firstBodyBuffer)))
			if small {
				size = int(limit)
			} else if !holdBody(held, size-cap(body)) {
				return body, held, errBodiesBusy
			} else {
				held = size
			}
			grown := make([]byte, len(body), size)
			copy(grown, body)
			body = grown
		}
		n, err := src.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF && (r.ContentLength < 0 || int64(len(body)) == limit) {
			return body, held, nil
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return body, held, err
		}
	}
}

// closeUnread has the connection closed after the answer to a request whose body is refused
// unread. Otherwise net/http reads up to 256 KiB of it before answering, which a client that
// declared a body and sends it slowly, or not at all, holds up until Caddy's idle timeout.
func closeUnread(w http.ResponseWriter) { w.Header().Set("Connection", "close") }
