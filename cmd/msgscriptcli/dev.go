package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/store"
)

// devFlags are what dev and devhttp share: the libraries and the subject and name overrides.
type devFlags struct {
	libDir  string
	subject string
	name    string
	sandbox bool
	preload engine.Preloader
}

func (f *devFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.libDir, "libs", "l", "", "folder of libraries (default: libs/ next to FILE, when there is one)")
	cmd.Flags().StringVarP(&f.subject, "subject", "s", "", "subject, instead of the script's header")
	cmd.Flags().StringVarP(&f.name, "name", "n", "", "name, instead of the script's header or file name")
	// No backquotes in a usage string: pflag would take the quoted word for the flag's value name.
	cmd.Flags().BoolVar(&f.sandbox, "sandbox", false, "run the script in the sandbox, as a server with the sandbox option does")
}

// setup prepares the logger and the Lua modules; the returned function lets go of the modules'
// connections. quiet drops the engine's log below warnings: dev prints a failure itself.
func (f *devFlags) setup(g *globals, quiet bool) (*zap.Logger, func(), error) {
	log, err := g.logger()
	if err != nil {
		return nil, nil, err
	}
	if quiet && !log.Core().Enabled(zap.InfoLevel) {
		log = zap.NewNop()
	}
	m := &luaModules{g: g}
	p, err := m.preloader(f.sandbox)
	if err != nil {
		return nil, nil, err
	}
	f.preload = p
	return log, m.close, nil
}

// load reads the script and its libraries from disk into a fresh registry, compiled exactly as the
// server compiles them. A script that does not compile is an error reading file:line: message.
func (f *devFlags) load(path string, log *zap.Logger) (*engine.Registry, scriptFile, error) {
	sf, err := readScript(path, f.subject, f.name)
	if err != nil {
		return nil, sf, err
	}
	libDir := f.libDir
	if libDir == "" {
		if fi, err := os.Stat(filepath.Join(filepath.Dir(path), "libs")); err == nil && fi.IsDir() {
			libDir = filepath.Join(filepath.Dir(path), "libs")
		}
	}
	var batch []store.Event
	if libDir != "" {
		libs, err := readLibraries([]string{libDir}, true)
		if err != nil && !errors.Is(err, errNoLibraries) {
			return nil, sf, err
		}
		for _, l := range libs {
			batch = append(batch, store.Event{Op: store.OpPut, Item: store.Item{
				Ref: store.Ref{Kind: store.KindLibrary, Name: l.name}, Source: l.text, Origin: l.path}})
		}
	}
	batch = append(batch, store.Event{Op: store.OpPut, Item: store.Item{
		Ref: store.Ref{Kind: store.KindScript, Subject: sf.subject, Name: sf.name}, Source: sf.text, Origin: path}})
	opts := engine.Options{Logger: log}
	if f.preload != nil {
		opts.Preload = []engine.Preloader{f.preload}
	}
	reg := engine.NewRegistry(opts)
	reg.Replace(batch)
	if _, err := reg.Script(sf.subject, sf.name); err != nil {
		reg.Close()
		return nil, sf, err
	}
	return reg, sf, nil
}

func newDevCmd(g *globals) *cobra.Command {
	var f devFlags
	var in payloadFlags
	cmd := &cobra.Command{
		Use:   "dev FILE (-i PAYLOAD | -i @FILE | -f FILE | < FILE)",
		Short: "Run a script here, as the server would, and print its reply",
		Long: "Compiles FILE with its libraries, calls it once with the payload and prints the reply the\n" +
			"server would send. The payload is the text of -i (-i '' for an empty one), or the content\n" +
			"of the file named by -i @FILE or -f FILE, or what stdin holds when it is not a terminal.\n" +
			"The exit status is 1 when the script does not compile or fails.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			payload, err := in.read(cmd, g)
			if err != nil {
				return err
			}
			// The reply carries a failing script's error, printed below; the engine's own log
			// of it shows with -L info or debug.
			log, closeModules, err := f.setup(g, true)
			if err != nil {
				return err
			}
			defer closeModules()
			reg, sf, err := f.load(a[0], log)
			if err != nil {
				return err
			}
			defer reg.Close()
			reply := reg.Answer(context.Background(), sf.subject, &nats.Msg{Subject: sf.subject, Data: payload})
			fmt.Fprintf(g.raw, "%s\n", reply.Data)
			if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
				return fmt.Errorf("script failed (%s): %s", code, strings.Join(reply.Header.Values(micro.ErrorHeader), "; "))
			}
			return nil
		},
	}
	f.register(cmd)
	in.register(cmd)
	g.registerPlugin(cmd)
	hiddenAlias(cmd, "library", &f.libDir, "libs")
	hiddenAlias(cmd, "pluginDir", &g.pluginDir, "plugin")
	return cmd
}
