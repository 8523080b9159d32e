package etcdstore

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/store"
)

// The goroutine that reports etcd's outages runs while Watch does, and ends with it.
func TestEtcdWatchLeavesNothingRunning(t *testing.T) {
	srv := testetcd.Start(t)
	e := New(srv.Client(), "", zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Watch(ctx, func([]store.Event) {}) }()

	deadline := time.Now().Add(5 * time.Second)
	for !running("reportReachability") {
		if time.Now().After(deadline) {
			t.Fatal("no goroutine reports etcd's outages")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return within 5s of its context's end")
	}
	if running("reportReachability") {
		t.Fatal("the goroutine reporting etcd's outages outlived Watch")
	}
}

// running reports whether a goroutine is in a function of that name.
func running(function string) bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "."+function+"(")
}
