package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/msgscript/msgscript/store/dirstore"
)

func newTestCmd(g *globals) *cobra.Command {
	var o testOptions
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the *_test.lua files of a scripts folder against its scripts",
		Long: "Loads the scripts and libraries of DIR (default: the current folder) as the server's folder\n" +
			"store does, then runs every global function named Test... of every *_test.lua file under\n" +
			"DIR, each on a fresh Lua state with call, call_http, expect, mock_http, mock_nats and\n" +
			"http_requests. Scripts reach no network: their HTTP requests get the mocks' answers, their\n" +
			"NATS messages go to a NATS server inside msgscriptcli. Prints one line per failure,\n" +
			"file:line: TestName: message, then the counts; the exit status is 1 when anything failed.",
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := "."
			if len(a) == 1 {
				dir = a[0]
			}
			return runTests(g, dir, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list every test run, PASS or FAIL")
	f.StringVar(&o.run, "run", "", "run only the tests whose name matches this regular expression")
	f.BoolVar(&o.sandbox, "sandbox", false, "run the scripts in the sandbox, as a server with its sandbox option on does")
	f.StringSliceVar(&o.httpHosts, "http-hosts", nil, "with --sandbox: the hosts the scripts' http module may ask for (the server's http_hosts)")
	f.DurationVar(&o.testTimeout, "test-timeout", time.Minute, "how long one test may run")
	return cmd
}

// runTests runs the tests of dir and prints the report; it fails with errReported when a test,
// a test file or a script failed.
func runTests(g *globals, dir string, o testOptions) error {
	r := &testRun{g: g, opts: o, root: filepath.Clean(dir), out: g.stdout}
	if o.run != "" {
		re, err := regexp.Compile(o.run)
		if err != nil {
			return usageError{fmt.Errorf("--run: %v", err)}
		}
		r.match = re
	}
	if o.testTimeout <= 0 {
		return usageError{fmt.Errorf("--test-timeout must be positive")}
	}
	files, err := findTestFiles(r.root)
	if err != nil {
		return err
	}
	if err := r.setup(); err != nil {
		return err
	}
	defer r.reg.Close()
	for _, f := range files {
		if err := r.runFile(f); err != nil {
			return err
		}
	}
	fmt.Fprintf(r.out, "%d passed, %d failed\n", r.passed, r.failed)
	if r.failed > 0 {
		return errReported
	}
	return nil
}

// findTestFiles lists the *_test.lua files under dir, in path order, skipping what the folder
// store skips (hidden files and folders). Those under libs/ are tests too: a library's tests
// may sit next to it.
func findTestFiles(dir string) ([]string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a folder: give the scripts' folder (and --run to choose tests)", dir)
	}
	var files []string
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := strings.HasPrefix(e.Name(), ".") && path != dir
		switch {
		case e.IsDir() && hidden:
			return filepath.SkipDir
		case !e.IsDir() && !hidden && dirstore.IsTestFile(e.Name()):
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no test files (*_test.lua) in %s", dir)
	}
	return files, nil
}
