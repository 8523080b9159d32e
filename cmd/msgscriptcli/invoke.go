package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/spf13/cobra"

	"github.com/msgscript/msgscript/script"
)

// defaultNATSURL is where invoke sends when neither --nats nor -u/--natsurl (env NATS_URL) names
// a server: a msgscript next to the CLI, as Caddyfile.example runs it.
const defaultNATSURL = "nats://127.0.0.1:4222"

func newInvokeCmd(g *globals) *cobra.Command {
	var natsURL string
	cmd := &cobra.Command{
		Use:   "invoke [--nats URL] SUBJECT [PAYLOAD|-]",
		Short: "Send a NATS request to a subject and print the reply",
		Long: "Sends PAYLOAD (the text itself; - reads it from stdin; none: an empty payload) to SUBJECT as\n" +
			"a NATS request and prints the reply. A reply carrying a script's error (NATS micro error\n" +
			"headers) is printed too, followed by \"error <code>: <message>\" on stderr and exit status 1.\n" +
			"NATS is --nats, else -u/--natsurl (env NATS_URL), else " + defaultNATSURL + "; the wait\n" +
			"for the reply is --timeout.",
		Args: args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			subject := a[0]
			// nats.go sends whatever subject it is given, and the server drops the connection
			// over a malformed one: refuse it here, as a usage error.
			if err := script.ValidatePublish(subject); err != nil {
				return usageError{fmt.Errorf("invoke: %v", err)}
			}
			var payload []byte
			if len(a) == 2 {
				payload = []byte(a[1])
				if a[1] == "-" {
					var err error
					if payload, err = io.ReadAll(cmd.InOrStdin()); err != nil {
						return fmt.Errorf("reading the payload from stdin: %v", err)
					}
				}
			}
			return g.invoke(firstOf(natsURL, g.natsURL, defaultNATSURL), subject, payload)
		},
	}
	cmd.Flags().StringVar(&natsURL, "nats", "", "NATS server to send to (default: -u/--natsurl, env NATS_URL, else "+defaultNATSURL+")")
	return cmd
}

// invoke sends one request and prints its reply: the body on stdout, a script's error on stderr.
func (g *globals) invoke(url, subject string, payload []byte) error {
	nc, err := nats.Connect(url, nats.Name("msgscriptcli invoke"), nats.Timeout(g.timeout))
	if err != nil {
		return fmt.Errorf("cannot reach NATS at %s: %v", url, err)
	}
	defer nc.Close()
	reply, err := nc.RequestMsg(&nats.Msg{Subject: subject, Data: payload}, g.timeout)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("no script listens on %s (no responders at %s)", subject, url)
	case errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("no reply from %s within %s (--timeout)", subject, g.timeout)
	case err != nil:
		return fmt.Errorf("request to %s at %s: %v", subject, url, err)
	}
	body := reply.Data
	if len(body) == 0 || body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	if _, err := g.raw.Write(body); err != nil {
		return err
	}
	// msgscript answers a failing script with these headers, as NATS micro services do. The
	// line is the script's answer rather than the CLI's own complaint: it goes out unprefixed,
	// and run only sets the exit status.
	if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
		fmt.Fprintf(g.stderr, "error %s: %s\n", code, strings.Join(reply.Header.Values(micro.ErrorHeader), "; "))
		return errReported
	}
	return nil
}

// firstOf returns the first of values that is not empty.
func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
