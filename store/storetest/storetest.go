// Package storetest helps test store backends: follow a store's Watch from a test and compare the
// batches it hands over.
package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/msgscript/msgscript/store"
)

// Watch runs st.Watch in the background until the test ends and returns a channel of its
// batches. The test fails if Watch returns an error.
func Watch(t testing.TB, st store.Store) <-chan []store.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	batches := make(chan []store.Event, 16)
	done := make(chan error, 1)
	go func() { done <- st.Watch(ctx, func(b []store.Event) { batches <- b }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	return batches
}

// Next waits up to 5s for the next batch.
func Next(t testing.TB, batches <-chan []store.Event) []store.Event {
	t.Helper()
	select {
	case b := <-batches:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported within 5s")
		return nil
	}
}

// Describe renders a batch as "op kind subject/name" lines, for compact assertions.
func Describe(batch []store.Event) string {
	var lines []string
	for _, ev := range batch {
		op := "put"
		if ev.Op == store.OpDelete {
			op = "delete"
		}
		lines = append(lines, op+" "+ev.Item.Ref.String())
	}
	return strings.Join(lines, "\n")
}

// Puts turns a listing into the batch of puts that would hand it over.
func Puts(items []store.Item) []store.Event {
	var batch []store.Event
	for _, it := range items {
		batch = append(batch, store.Event{Op: store.OpPut, Item: it})
	}
	return batch
}
