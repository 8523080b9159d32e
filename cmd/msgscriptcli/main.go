// Command msgscriptcli manages the scripts and libraries msgscript serves (in etcd, or in a folder)
// and runs a script locally while it is being written:
//
//	msgscriptcli add hello.lua                compile, then store under its subject and name
//	msgscriptcli ls                           list the stored scripts
//	msgscriptcli history funcs.hello hello    list a script's stored versions (etcd)
//	msgscriptcli rollback funcs.hello hello   store its previous version again
//	msgscriptcli lib add -r libs/             store libraries
//	msgscriptcli dev hello.lua -i John        run a script here, as the server would
//	msgscriptcli test examples                run the *_test.lua files against their scripts
//	msgscriptcli invoke funcs.hello John      send a NATS request to a running msgscript
//
// Errors go to stderr and end with a non-zero exit status: 1 when the command failed, 2 when it
// was called wrongly.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/msgscript/msgscript/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks a command called wrongly (exit status 2), as opposed to one that failed.
type usageError struct{ error }

// errReported is a failure the command has already told on stderr in its own words (invoke's
// "error <code>: <message>"); run adds only the exit status 1.
var errReported = errors.New("failed, as reported above")

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	stderr = terminalSafe{stderr} // errors carry what servers and their clients wrote
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	if errors.Is(err, errReported) {
		return 1
	}
	fmt.Fprintln(stderr, "msgscriptcli:", err)
	if errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintln(stderr, "msgscriptcli: the store did not answer in time; is etcd running at --etcdurls (env ETCD_ENDPOINTS)?")
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// newRoot builds the command tree around one set of global flags.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: terminalSafe{stdout}, stderr: stderr, raw: stdout}
	root := &cobra.Command{
		Use:           "msgscriptcli",
		Short:         "Manage msgscript's scripts and libraries, and run scripts locally",
		SilenceErrors: true, // run prints them once, with the program's name
		SilenceUsage:  true,
		PersistentPostRunE: func(*cobra.Command, []string) error {
			return g.close()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	g.register(root)
	root.AddCommand(
		newAddCmd(g), newRmCmd(g), newListCmd(g), newShowCmd(g),
		newHistoryCmd(g), newRollbackCmd(g),
		newLibCmd(g),
		newDevCmd(g), newDevHTTPCmd(g),
		newStatusCmd(g), newVersionCmd(stdout),
		newInvokeCmd(g),
		newTestCmd(g),
	)
	return root
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print msgscript's version",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdout, "msgscriptcli", version.Get())
			return err
		},
	}
}

// args checks the number of positional arguments, reporting a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{fmt.Errorf("%s: %v", cmd.CommandPath(), err)}
		}
		return nil
	}
}
