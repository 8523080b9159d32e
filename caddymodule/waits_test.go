package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/internal/testnet"
)

// ended waits, at most 10 seconds, for ctx to end, and tells whether it did.
func ended(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// isDone tells whether ctx has ended, without waiting.
func isDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// A wait ends at its deadline, not before, with the error of a deadline.
func TestWaitEndsAtItsDeadline(t *testing.T) {
	ws := newWaits(200 * time.Millisecond)
	deadline := time.Now().Add(200 * time.Millisecond)
	w := ws.start(context.Background(), deadline)
	defer ws.finish(w)
	if err := w.Err(); err != nil {
		t.Fatalf("a new wait: %v", err)
	}
	if d, ok := w.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("Deadline() = %v, %v; want %v", d, ok, deadline)
	}
	if !ended(w) {
		t.Fatal("the wait did not end at its deadline")
	}
	if now := time.Now(); now.Before(deadline) {
		t.Errorf("the wait ended %s before its deadline", deadline.Sub(now))
	}
	if !errors.Is(w.Err(), context.DeadlineExceeded) {
		t.Errorf("Err() = %v, want the deadline's", w.Err())
	}
}

// A wait ends as soon as the request's context does, long before its deadline, and carries the
// request's values.
func TestWaitEndsWhenItsRequestEnds(t *testing.T) {
	ws := newWaits(time.Hour)
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	w := ws.start(ctx, time.Now().Add(time.Hour))
	defer ws.finish(w)
	if w.Value(key{}) != "v" {
		t.Errorf("the request's values are not there: %v", w.Value(key{}))
	}
	time.Sleep(2 * ws.tick)
	if isDone(w) {
		t.Fatal("the wait ended while its request was on")
	}
	cancel()
	if !ended(w) {
		t.Fatal("the wait did not end with its request")
	}
	if !errors.Is(w.Err(), context.Canceled) {
		t.Errorf("Err() = %v, want the request's", w.Err())
	}
}

// Waits started and finished from many goroutines, some ending by deadline, some by their request,
// most finished first: each ends only for its own reason, a finished wait is reused open, and the
// sweeper stops once none is left.
func TestWaitsUnderConcurrency(t *testing.T) {
	ws := newWaits(20 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if err := oneWait(ws, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws.mu.Lock()
		left, sweeping := len(ws.list), ws.sweeping
		ws.mu.Unlock()
		if left != 0 {
			t.Fatalf("%d waits left after all were finished", left)
		}
		if !sweeping {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper runs on with no wait left")
		}
		time.Sleep(ws.tick)
	}
}

// oneWait starts and finishes one wait of TestWaitsUnderConcurrency: the i-th ends by its
// deadline, by its request, or is answered in time.
func oneWait(ws *waits, i int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	switch {
	case i%7 == 0:
		w := ws.start(ctx, time.Now().Add(time.Millisecond))
		defer ws.finish(w)
		if !ended(w) || !errors.Is(w.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("a wait past its deadline: ended %v, with %v", isDone(w), w.Err())
		}
	case i%5 == 0:
		w := ws.start(ctx, time.Now().Add(time.Hour))
		defer ws.finish(w)
		cancel()
		if !ended(w) || !errors.Is(w.Err(), context.Canceled) {
			return fmt.Errorf("a wait whose request ended: ended %v, with %v", isDone(w), w.Err())
		}
	default:
		w := ws.start(ctx, time.Now().Add(time.Hour))
		defer ws.finish(w)
		if isDone(w) || w.Err() != nil {
			return fmt.Errorf("a (reused) wait just started has ended: %v", w.Err())
		}
	}
	return nil
}

// A client that gives up on a request stops the handler's wait for the reply at once (it says so,
// with status 499), rather than at the handler's timeout.
func TestHandlerStopsWaitingForAClientThatLeft(t *testing.T) {
	natsURL := testnats.Start(t).ClientURL()
	nc := connectTo(t, natsURL)
	heard := make(chan struct{}, 1)
	// A responder that never answers.
	if _, err := nc.Subscribe("funcs.silent", func(*nats.Msg) { heard <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	site := testnet.FreeAddr(t)
	loadCaddyfile(t, fmt.Sprintf("{\n\tadmin off\n\tlog {\n\t\toutput file %s\n\t\tlevel INFO\n\t}\n}\n"+
		"http://%s {\n\tmsgscript {\n\t\ttimeout 1m\n\t\tnats_url %s\n\t}\n}\n", logFile, site, natsURL))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+site+"/funcs.silent", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-heard // the request is out: the handler waits
		cancel()
	}()
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("the request: %v, want it canceled", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		logs, _ := os.ReadFile(logFile)
		if strings.Contains(string(logs), `"subject":"funcs.silent"`) {
			if !strings.Contains(string(logs), `"status":499`) {
				t.Fatalf("the handler's log: %s; want status 499", logs)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the handler still waits, 15s after its client left (timeout 1m); its log: %s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
