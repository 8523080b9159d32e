package engine

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
)

// Registry holds the compiled version of every script, kept current by the store's events. Reads
// (one per message) are a lock-free load of an immutable subject -> programs map; changes are
// serialised and rebuild that map.
type Registry struct {
	opts     *Options
	log      *zap.Logger
	onChange func() // called after every change, outside mu; may be nil

	mu      sync.Mutex
	scripts map[scriptKey]*scriptEntry
	// names are the scripts of each subject pattern (an index of scripts), so that a change
	// rebuilds what its subjects hold, not what 10,000 scripts hold.
	names map[string]map[string]*scriptEntry
	libs  map[string]store.Item

	// Counts of what happened since the registry was made, for metrics.
	loads, compileFailures, storeEvents atomic.Uint64

	bySubject atomic.Pointer[map[string]*subjectEntry]
	triggered atomic.Pointer[[]*Program] // the serving versions with a stream or cron header
	triggers  triggerStates              // what their triggers report
	subjects  map[string]*counters       // each pattern's, kept across changes; under mu
}

// subjectEntry is what a message on a subject pattern finds: its scripts, sorted by name, and the
// pattern's counters.
type subjectEntry struct {
	progs []*Program
	// core are the progs that answer the subject's core NATS messages: all but those whose
	// messages come from a JetStream stream (a subscription would run them twice).
	core  []*Program
	stats *counters
}

type scriptKey struct{ subject, name string }

// scriptEntry is one script: its latest stored text, the last version that compiled, and the
// counters of its calls, which its versions share.
type scriptEntry struct {
	item store.Item
	prog *Program // serving; nil when no version has compiled yet
	err  error    // why item is not the version serving; nil when it is
	// alone is set when prog, a `--* reply: raw` script, is not served because other scripts
	// share its subject: it says so (see rawConflicts).
	alone string
	stats *counters
}

// NewRegistry returns an empty registry whose programs use opts, on its own: its scripts run
// through Answer (msgscriptcli's dev commands run scripts this way, without NATS).
func NewRegistry(opts Options) *Registry {
	o := opts.withDefaults()
	return newRegistry(&o, nil)
}

// newRegistry returns an empty registry that calls onChange after every change.
func newRegistry(opts *Options, onChange func()) *Registry {
	memory.use(opts.MemoryLimit, opts.Logger)
	r := &Registry{opts: opts, log: opts.Logger, onChange: onChange, scripts: map[scriptKey]*scriptEntry{},
		names: map[string]map[string]*scriptEntry{}, libs: map[string]store.Item{}, subjects: map[string]*counters{}}
	r.bySubject.Store(&map[string]*subjectEntry{})
	return r
}

// Programs returns the scripts listening on a subject pattern, sorted by name. The slice is
// shared: do not modify it.
func (r *Registry) Programs(subject string) []*Program {
	if e := (*r.bySubject.Load())[subject]; e != nil {
		return e.progs
	}
	return nil
}

// MemoryLimit is the memory limit the calls run under, in bytes (Options.MemoryLimit or its
// default).
func (r *Registry) MemoryLimit() uint64 { return r.opts.MemoryLimit }

// Subjects returns every subject pattern that has at least one script answering its core NATS
// messages: those the engine subscribes to.
func (r *Registry) Subjects() []string {
	m := *r.bySubject.Load()
	subjects := make([]string, 0, len(m))
	for s, se := range m {
		if len(se.core) > 0 {
			subjects = append(subjects, s)
		}
	}
	sort.Strings(subjects)
	return subjects
}

// triggeredPrograms returns the serving versions that a stream or a schedule calls. The slice is
// shared: do not modify it.
func (r *Registry) triggeredPrograms() []*Program {
	if p := r.triggered.Load(); p != nil {
		return *p
	}
	return nil
}

// Script returns the version of a script that is serving (nil if none) and, when the latest
// stored version is not that one, why it was refused.
func (r *Registry) Script(subject, name string) (*Program, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.scripts[scriptKey{subject, name}]
	if e == nil {
		return nil, nil
	}
	return e.prog, e.err
}

// Replace makes the registry hold exactly the items of a complete batch (a store's first batch, or
// a new one after its watch had to start over): anything not in it is removed.
func (r *Registry) Replace(all []store.Event) {
	present := map[store.Ref]bool{}
	for _, ev := range all {
		present[ev.Item.Ref] = true
	}
	batch := slices.Clone(all)
	r.mu.Lock()
	for key, e := range r.scripts {
		ref := store.Ref{Kind: store.KindScript, Subject: key.subject, Name: key.name}
		if !present[ref] {
			batch = append(batch, store.Event{Op: store.OpDelete, Item: e.item})
		}
	}
	for name, lib := range r.libs {
		if !present[store.Ref{Kind: store.KindLibrary, Name: name}] {
			batch = append(batch, store.Event{Op: store.OpDelete, Item: lib})
		}
	}
	retired := r.apply(batch)
	r.mu.Unlock()
	r.changed(retired)
}

// Apply takes a batch of changes: libraries first, then every script that changed or that requires
// a changed library is compiled again. A version that does not compile is logged and the previous
// one keeps serving.
func (r *Registry) Apply(batch []store.Event) {
	r.mu.Lock()
	retired := r.apply(batch)
	r.mu.Unlock()
	r.changed(retired)
}

// changed runs after a change, outside the lock: it tells onChange, then closes the versions the
// change replaced. They are closed only once no new message can find them; calls already running
// on them finish normally.
func (r *Registry) changed(retired []*Program) {
	if r.onChange != nil {
		r.onChange()
	}
	for _, p := range retired {
		p.Close()
	}
}

// apply takes a batch under the lock and returns the versions it retired.
func (r *Registry) apply(batch []store.Event) (retired []*Program) {
	r.storeEvents.Add(uint64(len(batch)))
	changedLibs := map[string]bool{}
	dirty := map[scriptKey]bool{}
	affected := map[string]bool{} // the subjects whose scripts changed
	for _, ev := range batch {
		it := ev.Item
		switch it.Kind {
		case store.KindLibrary:
			changedLibs[it.Name] = true
			if ev.Op == store.OpPut {
				r.libs[it.Name] = it
			} else {
				delete(r.libs, it.Name)
			}
		case store.KindScript:
			key := scriptKey{it.Subject, it.Name}
			if ev.Op == store.OpDelete {
				if e := r.scripts[key]; e != nil {
					if e.prog != nil {
						retired = append(retired, e.prog)
					}
					delete(r.scripts, key)
					r.unindex(key)
					delete(dirty, key)
					affected[key.subject] = true
					r.triggers.forget(key)
					r.log.Info("script removed", zap.String("subject", key.subject), zap.String("name", key.name))
				}
				continue
			}
			e := r.scripts[key]
			if e == nil {
				e = &scriptEntry{stats: &counters{}}
				r.scripts[key] = e
				r.index(key, e)
			}
			e.item = it
			dirty[key] = true
		}
	}
	if len(changedLibs) > 0 {
		for key, e := range r.scripts {
			// A script that failed may have been waiting for a library that just arrived.
			if e.err != nil || e.prog == nil || slices.ContainsFunc(e.prog.Libraries, func(l string) bool { return changedLibs[l] }) {
				dirty[key] = true
			}
		}
	}

	keys := slices.Collect(maps.Keys(dirty))
	built := r.buildAll(keys)
	for i, key := range keys {
		if old := r.install(key, r.scripts[key], built[i].code, built[i].err); old != nil {
			retired = append(retired, old)
		}
		affected[key.subject] = true
	}
	r.publish(affected)
	return retired
}

// builtCode is what compiling one script gave.
type builtCode struct {
	code *Code
	err  error
}

// parallelBuild is the number of scripts from which a batch is compiled on every CPU: starting
// with 10,000 scripts, or a library that 1,000 require changing, then takes a fraction of the time.
const parallelBuild = 64

// buildAll compiles the latest version of each script of keys; under mu, which keeps the scripts
// and libraries still while the CPUs share the work.
func (r *Registry) buildAll(keys []scriptKey) []builtCode {
	built := make([]builtCode, len(keys))
	build := func(i int) {
		built[i].code, built[i].err = r.build(keys[i], r.scripts[keys[i]].item)
	}
	if len(keys) < parallelBuild {
		for i := range keys {
			build(i)
		}
		return built
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(keys); i = int(next.Add(1) - 1) {
				build(i)
			}
		})
	}
	wg.Wait()
	return built
}

// install makes a script's newly built version the one serving, if it compiled (else says why).
// It returns the version replaced, if any.
func (r *Registry) install(key scriptKey, e *scriptEntry, code *Code, err error) (replaced *Program) {
	fields := []zap.Field{zap.String("subject", key.subject), zap.String("name", key.name), zap.String("origin", e.item.Origin)}
	if err != nil {
		r.compileFailures.Add(1)
		e.err = err
		if e.prog != nil {
			r.log.Error("script not updated, the previous version keeps serving", append(fields, zap.Error(err))...)
		} else {
			r.log.Error("script not loaded", append(fields, zap.Error(err))...)
		}
		return nil
	}
	r.loads.Add(1)
	replaced, e.prog, e.err = e.prog, newProgram(key.subject, key.name, e.item, code, r.opts, e.stats), nil
	if len(code.Libraries) > 0 {
		fields = append(fields, zap.Strings("libraries", code.Libraries))
	}
	if replaced != nil {
		r.log.Info("script updated", fields...)
	} else {
		r.log.Info("script loaded", fields...)
	}
	for _, w := range e.prog.warnings() {
		r.log.Warn("script header ignored", append(fields, zap.String("warning", w.Error()))...)
	}
	return replaced
}

func (r *Registry) build(key scriptKey, it store.Item) (*Code, error) {
	if err := script.ValidatePattern(key.subject); err != nil {
		return nil, &CompileError{Origin: it.Origin, Msg: err.Error()}
	}
	if err := script.ValidateName(key.name); err != nil {
		return nil, &CompileError{Origin: it.Origin, Msg: err.Error()}
	}
	return Compile(Source{Origin: it.Origin, Text: it.Source}, r.library)
}

func (r *Registry) library(name string) (Source, bool) {
	lib, ok := r.libs[name]
	return Source{Origin: lib.Origin, Text: lib.Source}, ok
}

// index and unindex keep names in step with scripts; under mu.
func (r *Registry) index(key scriptKey, e *scriptEntry) {
	m := r.names[key.subject]
	if m == nil {
		m = map[string]*scriptEntry{}
		r.names[key.subject] = m
	}
	m[key.name] = e
}

func (r *Registry) unindex(key scriptKey) {
	if m := r.names[key.subject]; m != nil {
		delete(m, key.name)
		if len(m) == 0 {
			delete(r.names, key.subject)
		}
	}
}

// publish rebuilds, for the subject patterns affected by a change, what a message finds there,
// and publishes the new subject map (a copy: readers of the previous one are never disturbed).
func (r *Registry) publish(affected map[string]bool) {
	m := maps.Clone(*r.bySubject.Load())
	triggersChanged := false
	for subject := range affected {
		if se := m[subject]; se != nil && slices.ContainsFunc(se.progs, (*Program).triggered) {
			triggersChanged = true // a trigger may be gone
		}
		r.rawConflicts(subject)
		se := r.subjectEntry(subject)
		if se == nil {
			delete(m, subject)
			delete(r.subjects, subject) // no script listens any more
			continue
		}
		m[subject] = se
		if slices.ContainsFunc(se.progs, (*Program).triggered) {
			triggersChanged = true
		}
	}
	r.bySubject.Store(&m)
	if triggersChanged || r.triggered.Load() == nil {
		var triggered []*Program
		for _, se := range m {
			for _, p := range se.progs {
				if p.triggered() {
					triggered = append(triggered, p)
				}
			}
		}
		r.triggered.Store(&triggered)
	}
}

// subjectEntry builds what a message on subject finds: its scripts serving, sorted by name; nil
// when none serves. Under mu.
func (r *Registry) subjectEntry(subject string) *subjectEntry {
	var progs []*Program
	for _, e := range r.names[subject] {
		if e.prog != nil && e.alone == "" {
			progs = append(progs, e.prog)
		}
	}
	if len(progs) == 0 {
		return nil
	}
	stats := r.subjects[subject]
	if stats == nil {
		stats = &counters{}
		r.subjects[subject] = stats
	}
	sort.Slice(progs, func(i, j int) bool { return progs[i].Name < progs[j].Name })
	se := &subjectEntry{progs: progs, core: progs, stats: stats}
	if slices.ContainsFunc(progs, func(p *Program) bool { return p.Headers.Stream != "" }) {
		se.core = slices.DeleteFunc(slices.Clone(progs), func(p *Program) bool { return p.Headers.Stream != "" })
	}
	return se
}

// rawConflicts marks the `--* reply: raw` scripts of subject that share it with another script:
// their reply is the whole answer, so they cannot be merged with others, and which one would win
// is no choice to make silently. They are not served (said in their status and the log) until
// they are alone again. Under mu.
func (r *Registry) rawConflicts(subject string) {
	scripts := r.names[subject]
	var names []string
	for name, e := range scripts {
		if e.prog != nil {
			names = append(names, name)
		}
	}
	for name, e := range scripts {
		was := e.alone
		e.alone = ""
		if e.prog == nil || !e.prog.Headers.RawReply || len(names) < 2 {
			if was != "" && e.prog != nil {
				r.log.Info("script served again: it is alone on its subject", zap.String("subject", subject), zap.String("name", name))
			}
			continue
		}
		others := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == name })
		slices.Sort(others)
		e.alone = fmt.Sprintf("not served: a `--* reply: raw` script must be alone on %s; also there: %s", subject, strings.Join(others, ", "))
		if e.alone != was {
			r.log.Error("script not served", zap.String("subject", subject), zap.String("name", name), zap.String("error", e.alone))
		}
	}
}

// Close releases every program's Lua states.
func (r *Registry) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.scripts {
		if e.prog != nil {
			e.prog.Close()
		}
	}
	r.scripts = map[scriptKey]*scriptEntry{}
	r.names = map[string]map[string]*scriptEntry{}
	r.bySubject.Store(&map[string]*subjectEntry{})
	r.triggered.Store(nil)
}
