package caddymodule

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msgscript/msgscript/engine"
)

// metrics reports what the msgscript app does on Caddy's metrics registry, the admin endpoint's
// /metrics. The engine counts with atomic adds as it works; the counts are read when /metrics is
// scraped, so metrics cost the calls nothing more. Labels stay bounded: subject is a
// subscription's pattern (funcs.*, not every subject it matched), script a script's name.
type metrics struct {
	app *App
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("msgscript_"+name, help, labels, nil)
}

var (
	callsDesc = desc("calls_total", "Calls of a script, by how they ended: ok, error, timeout, refused (the message was more hops deep than max_depth).",
		"subject", "script", "outcome")
	durationDesc = desc("call_duration_seconds", "Time to answer a message, all the scripts of its subject pattern together.", "subject")
	inFlightDesc = desc("calls_in_flight", "Calls running now.")
	waitingDesc  = desc("messages_waiting", "Messages received and waiting for a call slot.")
	statesDesc   = desc("lua_states_idle", "Lua states pooled, ready for a call.")
	scriptsDesc  = desc("scripts", "Scripts, by whether a version of them serves (serving) or none compiled (failed).", "state")
	failingDesc  = desc("scripts_not_updated", "Scripts whose latest stored version did not compile (the previous version, if any, keeps serving).")
	loadsDesc    = desc("script_loads_total", "Script versions compiled and put in service.")
	failuresDesc = desc("script_compile_failures_total", "Script versions that did not compile.")
	eventsDesc   = desc("store_events_total", "Changes the script store reported.")
	reconnDesc   = desc("nats_reconnects_total", "Times the NATS connection came back: reconnected, or replaced after NATS closed it for good.")
	memoryDesc   = desc("memory_limit_bytes", "The memory limit the scripts run under.")
	streamDesc   = desc("stream_messages_total", "Messages of a `--* stream:` script's stream, by what became of them: acked (the call succeeded), retried (it failed and the message will come again), dead_lettered (its last try failed; sent to msgscript.dead.<subject>).",
		"subject", "script", "outcome")
	ticksDesc      = desc("cron_ticks_total", "Ticks of a `--* cron:` script this instance ran (the others of the cluster ran the rest).", "subject", "script")
	triggerOffDesc = desc("triggers_not_running", "Stream and cron triggers that cannot reach JetStream, their stream or their bucket now (see the log, or the trigger's error in the status).")
)

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{callsDesc, durationDesc, inFlightDesc, waitingDesc, statesDesc, scriptsDesc,
		failingDesc, loadsDesc, failuresDesc, eventsDesc, reconnDesc, memoryDesc, streamDesc, ticksDesc, triggerOffDesc} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	e := m.app.running.Load()
	if e == nil {
		return // not started, or stopped
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	var serving, failed, failing, triggersOff float64
	for _, s := range e.Registry().Status() {
		for _, o := range engine.Outcomes {
			counter(callsDesc, s.Calls.ByOutcome(o), s.Subject, s.Name, o.String())
		}
		if tr := s.Trigger; tr != nil {
			if tr.Stream != "" {
				counter(streamDesc, tr.Acked, s.Subject, s.Name, "acked")
				counter(streamDesc, tr.Retried, s.Subject, s.Name, "retried")
				counter(streamDesc, tr.Dead, s.Subject, s.Name, "dead_lettered")
			} else {
				counter(ticksDesc, tr.Ticks, s.Subject, s.Name)
			}
			if !tr.Running {
				triggersOff++
			}
		}
		switch {
		case s.Version == "":
			failed++
		default:
			serving++
		}
		if s.Error != "" {
			failing++
		}
	}
	gauge(scriptsDesc, serving, "serving")
	gauge(scriptsDesc, failed, "failed")
	gauge(failingDesc, failing)
	gauge(triggerOffDesc, triggersOff)
	for _, s := range e.Registry().SubjectStatus() {
		buckets := make(map[float64]uint64, len(engine.DurationBuckets))
		var cumulative uint64
		for i, bound := range engine.DurationBuckets {
			cumulative += s.Calls.Buckets[i]
			buckets[bound] = cumulative
		}
		ran := s.Calls.Total - s.Calls.Refused
		ch <- prometheus.MustNewConstHistogram(durationDesc, ran, s.Calls.Time.Seconds(), buckets, s.Pattern)
	}
	a := e.Activity()
	gauge(inFlightDesc, float64(a.InFlight))
	gauge(waitingDesc, float64(a.Waiting))
	gauge(statesDesc, float64(a.IdleStates))
	gauge(memoryDesc, float64(a.MemoryLimit))
	counter(loadsDesc, a.Loads)
	counter(failuresDesc, a.CompileFailures)
	counter(eventsDesc, a.StoreEvents)
	if c := m.app.conn.Load(); c != nil {
		counter(reconnDesc, c.reconnects.Load())
	}
}

var _ prometheus.Collector = (*metrics)(nil)
