package engine

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/script"
)

// DeadLetterPrefix starts the subject a stream's message goes to once its script failed on it
// max_deliver times: msgscript.dead.<the message's subject>. Keep them with a stream on
// msgscript.dead.>, or watch them with nats sub 'msgscript.dead.>'.
const DeadLetterPrefix = "msgscript.dead."

// Headers of a dead letter, beside the message's own and the NATS micro error headers
// (Nats-Service-Error, Nats-Service-Error-Code) that say why its last try failed.
const (
	HeaderDeadSubject    = "Msgscript-Subject"    // the subject the message was published to
	HeaderDeadStream     = "Msgscript-Stream"     // the stream it was stored in
	HeaderDeadSequence   = "Msgscript-Sequence"   // its sequence number there
	HeaderDeadScript     = "Msgscript-Script"     // the script that failed on it
	HeaderDeadDeliveries = "Msgscript-Deliveries" // how many times it was tried
	// HeaderDeadBodyOmitted, on a dead letter without a body, is the size of the message's body,
	// too large to go with the error headers under max_payload: it stays in its stream.
	HeaderDeadBodyOmitted = "Msgscript-Body-Omitted"
)

// deadLetter publishes a message its script gave up on. When a stream keeps dead letters, the
// message is dropped from its own stream only once that stream confirmed it has it; with none,
// whoever listens on the subject gets it. An error means it may not be anywhere: the caller keeps
// the message.
func (s *streamTrigger) deadLetter(msg jetstream.Msg, m *nats.Msg, failure *CallError, tries int) error {
	dead := &nats.Msg{Subject: DeadLetterPrefix + m.Subject, Data: m.Data, Header: nats.Header{}}
	for k, v := range m.Header {
		dead.Header[k] = v
	}
	dead.Header.Del(HeaderReplyTo)
	// One hop deeper than the message: a script on msgscript.dead.> that publishes it on is
	// bounded by max_depth, as any chain of calls.
	_, depth := callctx.Read(m)
	dead.Header.Set(callctx.HeaderDepth, strconv.Itoa(depth+1))
	dead.Header.Set(micro.ErrorCodeHeader, strconv.Itoa(failure.Code()))
	dead.Header.Set(micro.ErrorHeader, headerSafe(s.name+": "+failure.Msg))
	dead.Header.Set(HeaderDeadSubject, m.Subject)
	dead.Header.Set(HeaderDeadStream, s.stream)
	dead.Header.Set(HeaderDeadScript, s.name)
	dead.Header.Set(HeaderDeadDeliveries, strconv.Itoa(tries))
	if seq := sequenceOf(msg); seq > 0 {
		dead.Header.Set(HeaderDeadSequence, strconv.FormatUint(seq, 10))
	}
	js, err := s.t.jetStream()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Asked first, because a JetStream publish to a subject no stream keeps but someone
	// subscribes to (nats sub 'msgscript.dead.>') waits for an acknowledgement that never comes.
	_, err = js.StreamNameBySubject(ctx, dead.Subject)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return err
	}
	kept := err == nil
	send := func() error {
		if kept {
			_, err := js.PublishMsg(ctx, dead)
			return err
		}
		nc := s.t.nc.Load()
		if err := nc.PublishMsg(dead); err != nil {
			return err
		}
		return nc.FlushWithContext(ctx)
	}
	err = send()
	if errors.Is(err, nats.ErrMaxPayload) {
		// A message near max_payload has no room for the error headers: the letter goes without
		// its body, which stays in the message's own stream at the sequence it gives.
		dead.Header.Set(HeaderDeadBodyOmitted, strconv.Itoa(len(dead.Data)))
		dead.Data = nil
		err = send()
	}
	return err
}

// deadLetterRefused says why a message on subject cannot become a dead letter, or "".
func deadLetterRefused(subject string) string {
	if strings.HasPrefix(subject, DeadLetterPrefix) {
		return "it is a dead letter already (its own script failed on it)"
	}
	if err := script.ValidatePublish(DeadLetterPrefix + subject); err != nil {
		return "its dead letter's subject cannot be published to: " + err.Error()
	}
	return ""
}

// sequenceOf is the message's sequence in its stream, 0 when unknown.
func sequenceOf(msg jetstream.Msg) uint64 {
	if meta, err := msg.Metadata(); err == nil {
		return meta.Sequence.Stream
	}
	return 0
}
