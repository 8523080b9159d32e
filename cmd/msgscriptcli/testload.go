package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/luaenv"
	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/dirstore"
)

// setup builds the Lua environments, the scripts' as the server builds it (with the sandbox when
// asked) and the tests' (never sandboxed: a test file is trusted), both on the running test's
// NATS server and mocks, without etcd, and loads the scripts.
func (r *testRun) setup() error {
	services := luaenv.Services{
		NATS:          func() *nats.Conn { return r.current().conn() },
		HTTPTransport: mockTransport{r},
	}
	scriptsEnv, err := luaenv.New(luaenv.Policy{Sandbox: r.opts.sandbox, HTTPHosts: r.opts.httpHosts, PluginDir: r.g.pluginDir}, services)
	if err != nil {
		return err
	}
	if r.testEnv, err = luaenv.New(luaenv.Policy{PluginDir: r.g.pluginDir}, services); err != nil {
		return err
	}
	return r.loadScripts(scriptsEnv)
}

// loadScripts reads the folder as the server's folder store reads it (its libraries, its
// scripts, *_test.lua files left out) and compiles the scripts as the server does. What the
// server would not load (a bad header, two files for one script, a script that does not
// compile) is a failure of the run, reported with its file and line; the rest is tested.
func (r *testRun) loadScripts(preload engine.Preloader) error {
	userLog, err := r.g.logger()
	if err != nil {
		return err
	}
	core, logs := observer.New(zap.ErrorLevel)
	storeLog, engineLog := zap.New(core), zap.NewNop()
	if userLog.Core().Enabled(zap.InfoLevel) { // -L info or debug: the server's own log too
		storeLog, engineLog = zap.New(zapcore.NewTee(core, userLog.Core())), userLog
	}
	st := dirstore.New(r.root, storeLog)
	ctx := context.Background()
	libs, err := st.Libraries(ctx)
	if err != nil {
		return err
	}
	scripts, err := st.Scripts(ctx)
	if err != nil {
		return err
	}
	r.reportStore(logs.All())

	var batch []store.Event
	for _, it := range append(libs, scripts...) {
		batch = append(batch, store.Event{Op: store.OpPut, Item: it})
	}
	r.reg = engine.NewRegistry(engine.Options{Logger: engineLog, Preload: []engine.Preloader{preload}})
	r.reg.Replace(batch)
	seen := map[string]bool{}
	for _, it := range scripts {
		prog, err := r.reg.Script(it.Subject, it.Name)
		if err != nil {
			r.report(testFailure{msg: err.Error()}) // file:line: message already
			r.failed++
		}
		if prog == nil {
			continue
		}
		for _, w := range prog.Headers.WarningsAt(prog.Origin) {
			fmt.Fprintf(r.g.stderr, "msgscriptcli: warning: %v\n", w)
		}
		if !seen[prog.Subject] {
			seen[prog.Subject] = true
			r.patterns = append(r.patterns, prog.Subject)
		}
	}
	sort.Strings(r.patterns)
	return nil
}

// reportStore reports what the folder store logged as not loaded (each once: the folder was
// read twice).
func (r *testRun) reportStore(entries []observer.LoggedEntry) {
	said := map[string]bool{}
	for _, e := range entries {
		f := e.ContextMap()
		line := e.Message
		switch file, _ := f["file"].(string); {
		case file != "":
			line = fmt.Sprintf("%s: %s: %v", file, e.Message, f["error"])
			if text, err := os.ReadFile(file); err == nil {
				if _, err := script.ParseFile(file, text); err != nil {
					line = err.Error() // file:line: message
				}
			}
		case f["ignored"] != nil:
			line = fmt.Sprintf("%v: not loaded: %v is defined by %v too, which the server keeps", f["ignored"], f["ref"], f["kept"])
		}
		if !said[line] {
			said[line] = true
			r.report(testFailure{msg: line})
			r.failed++
		}
	}
}
