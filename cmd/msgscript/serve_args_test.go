package main

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

// The original's single-dash long flags become pflag's double-dash ones; values (even those that
// start with a dash), shorthands and what follows "--" are left alone.
func TestLongFlagArgs(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	defineServeFlags(fs)
	fs.BoolP("help", "h", false, "")
	in := []string{"-natsurl", "nats://a:4222", "-plugin=/p", "--queue-group", "-odd", "-sandbox", "-h",
		"-etcdurl", "-backend", "--listen=:1", "-nope", "x", "--", "-natsurl"}
	want := []string{"--natsurl", "nats://a:4222", "--plugin=/p", "--queue-group", "-odd", "--sandbox", "-h",
		"--etcdurl", "-backend", "--listen=:1", "--nope", "x", "--", "-natsurl"}
	if got := longFlagArgs(fs, in); !slices.Equal(got, want) {
		t.Errorf("longFlagArgs(%q)\n got %q\nwant %q", in, got, want)
	}
}
