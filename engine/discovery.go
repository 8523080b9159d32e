package engine

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"
	"go.uber.org/zap"
)

// discovery answers NATS's service discovery, the protocol of nats.go's micro services, so that
// `nats micro ls`, `nats micro info msgscript` and `nats micro stats msgscript` show the engine:
// one service instance per engine (its own id), one endpoint per subject pattern with scripts,
// with the counts of its messages and, in the endpoint's data, of each of its scripts. It answers
// $SRV.PING, $SRV.INFO and $SRV.STATS, each also followed by the service's name, and by its name
// and id, outside the queue group: every instance answers for itself.
type discovery struct {
	reg        *Registry
	identity   micro.ServiceIdentity
	queueGroup string
	started    time.Time
	log        *zap.Logger

	mu   sync.Mutex
	subs []*nats.Subscription
}

// DefaultServiceName is the name msgscript's engines answer discovery under.
const DefaultServiceName = "msgscript"

func newDiscovery(reg *Registry, opts *Options) *discovery {
	return &discovery{
		reg: reg, queueGroup: opts.QueueGroup, started: time.Now().UTC(), log: opts.Logger,
		identity: micro.ServiceIdentity{
			Name: opts.ServiceName, ID: nuid.Next(), Version: opts.ServiceVersion,
			Metadata: map[string]string{"queue_group": opts.QueueGroup},
		},
	}
}

// subscribe answers discovery on nc, instead of on the connection it answered on before.
func (d *discovery) subscribe(nc *nats.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, sub := range d.subs {
		_ = sub.Unsubscribe()
	}
	d.subs = d.subs[:0]
	for _, verb := range []micro.Verb{micro.PingVerb, micro.InfoVerb, micro.StatsVerb} {
		answer := d.answer(verb)
		for _, subject := range []string{
			micro.APIPrefix + "." + verb.String(),
			micro.APIPrefix + "." + verb.String() + "." + d.identity.Name,
			micro.APIPrefix + "." + verb.String() + "." + d.identity.Name + "." + d.identity.ID,
		} {
			sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
				if err := m.Respond(answer()); err != nil {
					d.log.Debug("answering discovery", zap.String("subject", m.Subject), zap.Error(err))
				}
			})
			if err != nil {
				d.log.Error("cannot answer discovery", zap.String("subject", subject), zap.Error(err))
				continue
			}
			d.subs = append(d.subs, sub)
		}
	}
}

func (d *discovery) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, sub := range d.subs {
		_ = sub.Unsubscribe()
	}
	d.subs = nil
}

func (d *discovery) answer(verb micro.Verb) func() []byte {
	return func() []byte {
		var v any
		switch verb {
		case micro.PingVerb:
			v = micro.Ping{ServiceIdentity: d.identity, Type: micro.PingResponseType}
		case micro.InfoVerb:
			v = d.info()
		case micro.StatsVerb:
			v = d.stats()
		}
		b, _ := json.Marshal(v)
		return b
	}
}

func (d *discovery) info() micro.Info {
	info := micro.Info{ServiceIdentity: d.identity, Type: micro.InfoResponseType,
		Description: "Lua scripts answering NATS subjects", Endpoints: []micro.EndpointInfo{}}
	for _, st := range d.reg.SubjectStatus() {
		info.Endpoints = append(info.Endpoints, micro.EndpointInfo{
			Name: endpointName(st.Pattern), Subject: st.Pattern, QueueGroup: d.queueGroup,
			Metadata: map[string]string{"scripts": strings.Join(st.Scripts, ",")},
		})
	}
	return info
}

// scriptStats is a script's line in its endpoint's data.
type scriptStats struct {
	Name      string     `json:"name"`
	Version   string     `json:"version,omitempty"`
	Error     string     `json:"error,omitempty"` // why the stored version is not serving
	Calls     CallCounts `json:"calls"`
	LastError string     `json:"last_error,omitempty"`
}

func (d *discovery) stats() micro.Stats {
	byPattern := map[string][]scriptStats{}
	for _, st := range d.reg.Status() {
		ss := scriptStats{Name: st.Name, Version: st.Version, Error: st.Error, Calls: st.Calls}
		if st.Calls.LastError != nil {
			ss.LastError = st.Calls.LastError.Msg
		}
		byPattern[st.Subject] = append(byPattern[st.Subject], ss)
	}
	stats := micro.Stats{ServiceIdentity: d.identity, Type: micro.StatsResponseType, Started: d.started, Endpoints: []*micro.EndpointStats{}}
	for _, st := range d.reg.SubjectStatus() {
		es := &micro.EndpointStats{
			Name: endpointName(st.Pattern), Subject: st.Pattern, QueueGroup: d.queueGroup,
			NumRequests: int(st.Calls.Total), NumErrors: int(st.Calls.Total - st.Calls.OK),
			ProcessingTime: st.Calls.Time, AverageProcessingTime: st.Calls.Average,
		}
		if st.Calls.LastError != nil {
			es.LastError = st.Calls.LastError.Msg
		}
		es.Data, _ = json.Marshal(map[string]any{"scripts": byPattern[st.Pattern]})
		stats.Endpoints = append(stats.Endpoints, es)
	}
	return stats
}

// endpointName names the endpoint of a subject pattern as discovery wants names: letters, digits,
// - and _. Dots become _, the wildcards any (*) and all (>): funcs.* is funcs_any. (The endpoint's
// subject is the pattern itself.)
func endpointName(pattern string) string {
	var b strings.Builder
	for _, r := range pattern {
		switch {
		case r == '.':
			b.WriteByte('_')
		case r == '*':
			b.WriteString("any")
		case r == '>':
			b.WriteString("all")
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// ServiceID is the id the engine answers discovery under.
func (e *Engine) ServiceID() string { return e.disc.identity.ID }

// ServiceName is the service name the engine answers discovery under.
func (e *Engine) ServiceName() string { return e.disc.identity.Name }

// QueueGroup is the queue group of the engine's subscriptions.
func (e *Engine) QueueGroup() string { return e.disc.queueGroup }
