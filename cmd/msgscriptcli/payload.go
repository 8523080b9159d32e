package main

import (
	"errors"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// maxPayload bounds a payload read from a file or stdin: NATS's default max_payload.
const maxPayload = 1 << 20

// payloadFlags are how dev is given its payload: -i TEXT (always the text itself, so that a word
// that happens to name a file is not read), -i @FILE or -f FILE (the file's content, as curl's -d
// @FILE), or stdin when it is not a terminal. With none of them, dev says so instead of running the
// script on an empty payload.
type payloadFlags struct {
	text string
	file string
}

func (p *payloadFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&p.text, "input", "i", "", "the payload (-i @FILE: the content of FILE)")
	cmd.Flags().StringVarP(&p.file, "file", "f", "", "read the payload from FILE (- for stdin)")
}

func (p *payloadFlags) read(cmd *cobra.Command, g *globals) ([]byte, error) {
	hasText := cmd.Flags().Changed("input")
	switch {
	case hasText && p.file != "":
		return nil, usageError{errors.New("dev: -i and -f both give the payload; pass one")}
	case p.file == "-":
		return readPayload(os.Stdin)
	case p.file != "":
		return readPayloadFile(p.file)
	case hasText && strings.HasPrefix(p.text, "@"):
		return readPayloadFile(p.text[1:])
	case hasText:
		return []byte(p.text), nil
	case !isTerminal(os.Stdin):
		return readPayload(os.Stdin)
	}
	return nil, usageError{errors.New("dev: no payload: pass -i TEXT (-i '' for an empty one), -i @FILE, -f FILE, or pipe it to stdin")}
}

func readPayloadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readPayload(f)
}

func readPayload(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPayload+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPayload {
		return nil, errors.New("dev: the payload is over 1 MiB, NATS's default max_payload")
	}
	return b, nil
}

// isTerminal reports whether f is a terminal (a character device), where dev should not wait for a
// payload nobody is typing.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
