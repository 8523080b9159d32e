package script

import (
	"fmt"
	"strings"
	"time"
)

const (
	// DefaultMaxDeliver is how many times a stream's message is tried when the script sets no
	// `max_deliver`.
	DefaultMaxDeliver = 5
	// MaxMaxDeliver bounds `max_deliver`: past a thousand tries a message is not going to work.
	MaxMaxDeliver = 1000
	// maxBackoff bounds one wait of `backoff`: JetStream redelivers a message it was told to wait
	// for, and a week is longer than anyone waits for a webhook.
	maxBackoff = 7 * 24 * time.Hour
)

// DefaultBackoff is the wait before each retry of a stream's message when the script sets no
// `backoff`: 1s, 5s, 30s, 2m, then 10m for every later one.
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}

// RetryDelay is how long to wait before delivering a message again after its try number tries
// (1 for the first) failed: the backoff's entry for that try, the last one for every later try.
func RetryDelay(backoff []time.Duration, tries int) time.Duration {
	if len(backoff) == 0 {
		backoff = DefaultBackoff
	}
	return backoff[min(max(tries, 1), len(backoff))-1]
}

// ValidateStream refuses what JetStream refuses in a stream name, with a message saying why.
func ValidateStream(name string) error {
	if len(name) > 255 {
		return fmt.Errorf("stream name of %d bytes is too long (255 at most)", len(name))
	}
	if i := strings.IndexAny(name, " \t.*>/\\\x00"); i >= 0 {
		return fmt.Errorf("stream name %q contains %q, which JetStream does not allow", name, name[i])
	}
	return nil
}

// parseBackoff reads "1s, 5s, 30s" (commas or spaces between the waits).
func parseBackoff(value string) ([]time.Duration, error) {
	fields := strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(fields) > MaxMaxDeliver {
		return nil, fmt.Errorf("%d waits, %d at most", len(fields), MaxMaxDeliver)
	}
	out := make([]time.Duration, 0, len(fields))
	for _, f := range fields {
		d, err := time.ParseDuration(f)
		if err != nil || d <= 0 || d > maxBackoff {
			return nil, fmt.Errorf("wants positive durations of a week (168h) at most in Go's units (ms, s, m, h) such as 1s, 30s, 5m, got %q", f)
		}
		out = append(out, d)
	}
	return out, nil
}
