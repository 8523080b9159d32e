package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/dirstore"
)

func newLibCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lib",
		Short: "Manage libraries: Lua code that scripts pull in with `--* require: <name>`",
		Args:  args(cobra.NoArgs),
	}
	cmd.AddCommand(newLibAddCmd(g), newLibRmCmd(g), newLibListCmd(g), newLibShowCmd(g),
		newLibHistoryCmd(g), newLibRollbackCmd(g))
	return cmd
}

// libraryFile is a library read from disk.
type libraryFile struct {
	path string
	name string
	text []byte
}

// errNoLibraries is readLibraries finding no .lua file where it was told to look.
var errNoLibraries = errors.New("no .lua file")

// readLibraries reads the .lua files named by paths: files as they are, folders for the .lua files
// directly in them, or in all their sub-folders with recursive. A library is named by its
// `--* name:` header, else by its file name.
func readLibraries(paths []string, recursive bool) ([]libraryFile, error) {
	var libs []libraryFile
	add := func(path string) error {
		text, h, err := readSource(path)
		if err != nil {
			return err
		}
		name := h.NameFor(path)
		if err := script.ValidateName(name); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		libs = append(libs, libraryFile{path: path, name: name, text: text})
		return nil
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if err := add(p); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if path != p && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			if filepath.Ext(path) != ".lua" || dirstore.IsTestFile(path) {
				return nil // a test of the libraries, run by msgscriptcli test, is none itself
			}
			return add(path)
		})
		if err != nil {
			return nil, err
		}
	}
	seen := map[string]string{}
	for _, l := range libs {
		if prev, dup := seen[l.name]; dup {
			return nil, fmt.Errorf("%s and %s are both library %q", prev, l.path, l.name)
		}
		seen[l.name] = l.path
	}
	if len(libs) == 0 {
		return nil, fmt.Errorf("%w in %s", errNoLibraries, strings.Join(paths, ", "))
	}
	return libs, nil
}

func newLibAddCmd(g *globals) *cobra.Command {
	var recursive bool
	var name string
	cmd := &cobra.Command{
		Use:   "add [-r] [-n NAME] PATH...",
		Short: "Compile libraries (files, or folders of .lua files) and store them",
		Args:  args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, paths []string) error {
			files, err := readLibraries(paths, recursive)
			if err != nil {
				return err
			}
			if name != "" {
				if err := renameLibrary(files, paths, name); err != nil {
					return err
				}
			}
			return g.withStore(func(ctx context.Context, st store.Store) error {
				libs, err := storedLibraries(ctx, st)
				if err != nil {
					return fmt.Errorf("reading the libraries from %s: %v", g.where(), err)
				}
				if err := checkLibraries(libs, files); err != nil {
					return err
				}
				for _, f := range files {
					if err := st.PutLibrary(ctx, f.name, f.text); err != nil {
						return fmt.Errorf("storing %s: %v", f.path, err)
					}
					fmt.Fprintf(g.stdout, "added library %s (%s)\n", f.name, f.path)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "also read the sub-folders of folders")
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the one library FILE, instead of its header or file name")
	return cmd
}

// renameLibrary gives the one library file read the name of -n/--name, as add's -n does for a
// script. A name for several files, or for a folder's, would store them all under one key.
func renameLibrary(files []libraryFile, paths []string, name string) error {
	if len(files) != 1 || files[0].path != paths[0] {
		return usageError{errors.New("lib add: -n names one library; pass one FILE with it")}
	}
	if err := script.ValidateName(name); err != nil {
		return usageError{fmt.Errorf("lib add -n: %v", err)}
	}
	files[0].name = name
	return nil
}

// checkLibraries compiles libraries about to be stored. Their new versions replace the stored
// ones in libs for compiling, so that libraries that require each other can be added together.
func checkLibraries(libs libraries, files []libraryFile) error {
	for _, f := range files {
		libs[f.name] = engine.Source{Origin: f.path, Text: f.text}
	}
	var problems []error
	for _, f := range files {
		if err := compile(f.path, f.text, libs); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing stored:\n%w", errors.Join(problems...))
	}
	return nil
}

func newLibRmCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [--force] NAME",
		Short: "Remove a library, unless stored scripts require it",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return g.withStore(func(ctx context.Context, st store.Store) error {
				if !force {
					// A library already gone is "no library", whoever still requires it.
					if _, err := st.Library(ctx, a[0]); err != nil {
						return g.missing(err, "library "+a[0])
					}
					users, err := requiredBy(ctx, st, a[0])
					if err != nil {
						return fmt.Errorf("reading the scripts from %s: %v", g.where(), err)
					}
					if len(users) > 0 {
						return fmt.Errorf("library %s is required by %s; nothing removed (--force removes it anyway)", a[0], strings.Join(users, ", "))
					}
				}
				if err := st.DeleteLibrary(ctx, a[0]); err != nil {
					return g.missing(err, "library "+a[0])
				}
				fmt.Fprintf(g.stdout, "removed library %s\n", a[0])
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove it even when stored scripts require it (they will no longer compile)")
	return cmd
}

func newLibListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the stored libraries",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(func(ctx context.Context, st store.Store) error {
				items, err := st.Libraries(ctx)
				if err != nil {
					return err
				}
				return printItems(g, items, "", false)
			})
		},
	}
}

func newLibShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Print a stored library",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return g.withStore(func(ctx context.Context, st store.Store) error {
				it, err := st.Library(ctx, a[0])
				if err != nil {
					return g.missing(err, "library "+a[0])
				}
				_, err = g.raw.Write(it.Source)
				return err
			})
		},
	}
}
