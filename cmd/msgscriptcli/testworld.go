package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/engine"
)

// testWorld is what one test runs against, made afresh for every test so that nothing a test
// does (a mock, a kv value, a message still in flight) reaches the next one: an in-process NATS
// server with JetStream (for the kv module) and no listener, so that it takes no port and
// nothing outside the process reaches it; the connection the nats module of the scripts and of
// the test uses, on which the scripts' own subjects are answered, as the server answers them;
// the mocks; and the failures recorded so far.
type testWorld struct {
	file string // the test file, as its chunk is named: where failures point
	test string // the test running ("" while the file's tests are listed)
	line int    // where the test function starts: failures with no better line point there
	ns   *server.Server
	nc   *nats.Conn
	dir  string // JetStream's storage

	ctx    context.Context // ends the calls the scripts' subscriptions started, at close
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	calls     sync.WaitGroup // the scripts' subscriptions' calls in flight
	natsMocks []natsMock     // in the order mock_nats was called
	httpMocks []httpMock
	requests  []seenRequest // every request of an http module, in order
	failures  []testFailure
	raised    string   // the error the last failed expect raised, not to be reported twice
	at        location // the call()/call_http() in progress, for a request nothing mocks
}

// location is a line of a Lua file.
type location struct {
	file string
	line int
}

// testFailure is one line of the report: file:line: test: message.
type testFailure struct {
	location
	test, msg string
}

// newTestWorld starts the NATS server and subscribes the scripts' subjects there.
func newTestWorld(file, test string, line int, reg *engine.Registry, patterns []string) (*testWorld, error) {
	dir, err := os.MkdirTemp("", "msgscriptcli-test-")
	if err != nil {
		return nil, err
	}
	w := &testWorld{file: file, test: test, line: line, dir: dir}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.ns, err = server.NewServer(&server.Options{DontListen: true, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		w.close()
		return nil, fmt.Errorf("starting the tests' NATS server: %v", err)
	}
	go w.ns.Start()
	if !w.ns.ReadyForConnections(10 * time.Second) {
		w.close()
		return nil, fmt.Errorf("the tests' NATS server did not start")
	}
	if w.nc, err = nats.Connect("", nats.InProcessServer(w.ns), nats.Name("msgscriptcli test")); err != nil {
		w.close()
		return nil, fmt.Errorf("connecting to the tests' NATS server: %v", err)
	}
	for _, pattern := range patterns {
		if _, err := w.nc.Subscribe(pattern, w.serve(reg, pattern)); err != nil {
			w.close()
			return nil, fmt.Errorf("subscribing %s: %v", pattern, err)
		}
	}
	if err := w.nc.Flush(); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// serve answers a message on one of the scripts' subjects as the server does, so that a script
// calling another over NATS reaches it; unless mock_nats answers that subject, in which case the
// mock alone answers. Each message runs on its own goroutine, as the server runs them
// concurrently: a script requesting its own subject must not wait for itself.
func (w *testWorld) serve(reg *engine.Registry, pattern string) nats.MsgHandler {
	return func(m *nats.Msg) {
		w.mu.Lock()
		if w.closed || w.natsMockedLocked(m.Subject) {
			w.mu.Unlock()
			return
		}
		w.calls.Add(1)
		w.mu.Unlock()
		go func() {
			defer w.calls.Done()
			reply := reg.Answer(w.ctx, pattern, m)
			if m.Reply != "" {
				_ = w.nc.PublishMsg(reply)
			}
		}()
	}
}

// conn is the connection of the scripts' nats module; nil once closed.
func (w *testWorld) conn() *nats.Conn {
	if w == nil {
		return nil
	}
	return w.nc
}

// natsMockedLocked tells whether mock_nats answers subject; w.mu is held.
func (w *testWorld) natsMockedLocked(subject string) bool {
	_, ok := w.natsMockFor(subject)
	return ok
}

// fail records a failure of the running test.
func (w *testWorld) fail(f testFailure) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failures = append(w.failures, f)
}

// setAt records where the call in progress was made.
func (w *testWorld) setAt(at location) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.at = at
}

// close stops whatever the test left running (the scripts' calls started by its messages end
// with the context), then the server, and removes JetStream's storage.
func (w *testWorld) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.calls.Wait()
	if w.nc != nil {
		w.nc.Close()
	}
	if w.ns != nil {
		w.ns.Shutdown()
		w.ns.WaitForShutdown()
	}
	_ = os.RemoveAll(w.dir)
}

// seenRequest is a request of an http module, as http_requests() lists it.
type seenRequest struct {
	method, url, body string
	header            http.Header
}
