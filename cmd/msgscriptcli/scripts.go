package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/msgscript/msgscript/store"
)

func newAddCmd(g *globals) *cobra.Command {
	var subject, name string
	cmd := &cobra.Command{
		Use:   "add [-s subject] [-n name] FILE...",
		Short: "Compile scripts and store them under their subject and name",
		Long: "Reads each FILE, takes its subject and name from -s/-n or from its `--* subject:` and\n" +
			"`--* name:` headers (the name defaults to the file name), compiles it with the stored\n" +
			"libraries, and stores it only when every file compiled.",
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, files []string) error {
			if len(files) > 1 && (subject != "" || name != "") {
				return usageError{errors.New("add: -s and -n name one script; pass one FILE with them")}
			}
			return g.withStore(func(ctx context.Context, st store.Store) error {
				libs, err := storedLibraries(ctx, st)
				if err != nil {
					return fmt.Errorf("reading the libraries from %s: %v", g.where(), err)
				}
				// Check everything before writing anything.
				var scripts []scriptFile
				var problems []error
				for _, path := range files {
					f, err := readScript(path, subject, name)
					if err == nil {
						err = compile(path, f.text, libs)
					}
					if err != nil {
						problems = append(problems, err)
						continue
					}
					scripts = append(scripts, f)
				}
				if len(problems) == 0 {
					problems = rawAlone(ctx, st, scripts)
				}
				if len(problems) > 0 {
					return fmt.Errorf("nothing stored:\n%w", errors.Join(problems...))
				}
				for _, f := range scripts {
					// The same text again is no new version: storing it would bump its etcd
					// revision and fill its history with copies.
					if cur, err := st.Script(ctx, f.subject, f.name); err == nil && bytes.Equal(cur.Source, f.text) {
						fmt.Fprintf(g.stdout, "unchanged %s/%s (%s)\n", f.subject, f.name, f.path)
						continue
					}
					if err := st.PutScript(ctx, f.subject, f.name, f.text); err != nil {
						return fmt.Errorf("storing %s: %v", f.path, err)
					}
					fmt.Fprintf(g.stdout, "added %s/%s (%s)\n", f.subject, f.name, f.path)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&subject, "subject", "s", "", "subject, instead of the script's header")
	cmd.Flags().StringVarP(&name, "name", "n", "", "name, instead of the script's header or file name")
	return cmd
}

func newRmCmd(g *globals) *cobra.Command {
	var subject, name string
	cmd := &cobra.Command{
		Use:   "rm SUBJECT NAME | rm -s SUBJECT -n NAME",
		Short: "Remove a script",
		Args:  args(cobra.MaximumNArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := needRef(cmd, a, &subject, &name); err != nil {
				return err
			}
			return g.withStore(func(ctx context.Context, st store.Store) error {
				if err := st.DeleteScript(ctx, subject, name); err != nil {
					return g.missing(err, "script "+subject+"/"+name)
				}
				fmt.Fprintf(g.stdout, "removed %s/%s\n", subject, name)
				return nil
			})
		},
	}
	requiredRef(cmd, &subject, &name)
	return cmd
}

// requiredRef adds the -s and -n flags that name one stored script (the original's spelling; the
// two arguments SUBJECT NAME do the same, as history and rollback take them).
func requiredRef(cmd *cobra.Command, subject, name *string) {
	cmd.Flags().StringVarP(subject, "subject", "s", "", "the script's subject")
	cmd.Flags().StringVarP(name, "name", "n", "", "the script's name")
}

// needRef takes the script's subject and name from the arguments SUBJECT NAME, or checks that -s
// and -n were both given.
func needRef(cmd *cobra.Command, a []string, subject, name *string) error {
	switch {
	case len(a) == 2 && *subject == "" && *name == "":
		*subject, *name = a[0], a[1]
	case len(a) != 0:
		*subject = "" // one or three arguments, or arguments and flags: said below
	}
	if *subject == "" || *name == "" {
		return usageError{fmt.Errorf("%s: name the script as SUBJECT NAME, or with -s SUBJECT and -n NAME", cmd.CommandPath())}
	}
	return nil
}

func newListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list [SUBJECT-PREFIX]",
		Aliases: []string{"ls"},
		Short:   "List the stored scripts: subject, name, size and last change",
		Args:    args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return g.withStore(func(ctx context.Context, st store.Store) error {
				items, err := st.Scripts(ctx)
				if err != nil {
					return err
				}
				prefix := ""
				if len(a) == 1 {
					prefix = a[0]
				}
				return printItems(g, items, prefix, true)
			})
		},
	}
}

// printItems writes a table of scripts (with their subject) or libraries.
func printItems(g *globals, items []store.Item, prefix string, withSubject bool) error {
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	if withSubject {
		fmt.Fprintln(w, "SUBJECT\tNAME\tSIZE\tCHANGED")
	} else {
		fmt.Fprintln(w, "NAME\tSIZE\tCHANGED")
	}
	for _, it := range items {
		if withSubject && !strings.HasPrefix(it.Subject, prefix) {
			continue
		}
		changed := "revision " + strconv.FormatInt(it.Revision, 10)
		if !it.Modified.IsZero() {
			changed = it.Modified.Format("2006-01-02 15:04:05")
		}
		if withSubject {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", it.Subject, it.Name, len(it.Source), changed)
		} else {
			fmt.Fprintf(w, "%s\t%d\t%s\n", it.Name, len(it.Source), changed)
		}
	}
	return w.Flush()
}

func newShowCmd(g *globals) *cobra.Command {
	var subject, name string
	cmd := &cobra.Command{
		Use:   "show SUBJECT NAME | show -s SUBJECT -n NAME",
		Short: "Print a stored script",
		Args:  args(cobra.MaximumNArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := needRef(cmd, a, &subject, &name); err != nil {
				return err
			}
			return g.withStore(func(ctx context.Context, st store.Store) error {
				it, err := st.Script(ctx, subject, name)
				if err != nil {
					return g.missing(err, "script "+subject+"/"+name)
				}
				_, err = g.raw.Write(it.Source)
				return err
			})
		},
	}
	requiredRef(cmd, &subject, &name)
	return cmd
}
