package script

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is when a `--* cron:` script runs.
type Schedule interface {
	// Next is the first tick strictly after t.
	Next(t time.Time) time.Time
}

// cronParser reads the standard five fields, an optional leading seconds field, and the
// descriptors (@hourly, @daily...).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule reads a `--* cron:` value: five fields ("*/5 * * * *"), six with seconds first
// ("*/10 * * * * *"), a descriptor (@hourly, @daily, @weekly, @monthly, @yearly) or
// "@every <duration>" of a second or more. Times are UTC unless the spec starts with
// CRON_TZ=<zone>: every instance of a cluster must see the same ticks to run each one once.
//
// "@every" ticks fall on multiples of the duration counted from one fixed instant (time.Truncate's),
// not from the moment an instance started, for the same reason: @every 1m ticks on each minute.
func ParseSchedule(spec string) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if tz, rest, ok := strings.Cut(spec, " "); ok && (strings.HasPrefix(tz, "CRON_TZ=") || strings.HasPrefix(tz, "TZ=")) &&
		strings.HasPrefix(strings.TrimSpace(rest), "@every ") {
		spec = strings.TrimSpace(rest) // a zone means nothing to @every, which must tick as everywhere
	}
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("@every wants a duration of a second or more such as 30s or 5m, got %q", rest)
		}
		return every(d), nil
	}
	if !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		spec = "CRON_TZ=UTC " + spec
	}
	s, err := parseCron(spec)
	if err != nil {
		return nil, fmt.Errorf("%v (want five fields such as \"*/5 * * * *\", six with seconds first, @hourly or @every 1m)", err)
	}
	if s.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("%q never fires (a day that no month has, such as 30 February?)", spec)
	}
	return s, nil
}

// parseCron is cronParser.Parse, whose panics are errors: it panics on a zone with no schedule
// after it ("CRON_TZ=UTC"), which ended the process from a script's header.
func parseCron(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cannot read %q", spec)
		}
	}()
	if zone, _, _ := strings.Cut(spec, " "); zone == spec {
		return nil, fmt.Errorf("%q has a time zone and no schedule", spec)
	}
	return cronParser.Parse(spec)
}

// every ticks on the multiples of itself counted from a fixed instant.
type every time.Duration

func (e every) Next(t time.Time) time.Time {
	d := time.Duration(e)
	return t.Truncate(d).Add(d)
}
