package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/etcdstore"
)

// historyHelp explains the history commands; %[1]s is "script" or "library".
const historyHelp = `Lists the versions of a %[1]s that etcd still holds, newest first: etcd keeps every
revision of a key until it is compacted. For each: REVISION, the etcd revision that stored it
(what rollback takes); TIME, always "-" as etcd records no time for a revision; SIZE in bytes;
VERSION, the first 12 hex digits of the SHA-256 of the text, as "msgscriptcli status" names the
version serving; "current" marks the one stored now. A deleted %[1]s shows its delete first,
then the versions before it. The list goes back to the put that created the key (not past an
earlier delete) or to etcd's last compaction, which the last line then tells. Needs the etcd
backend: a folder keeps no past versions.`

func newHistoryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history SUBJECT NAME",
		Short: "List the stored versions of a script, newest first (etcd)",
		Long:  fmt.Sprintf(historyHelp, "script"),
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(_ *cobra.Command, a []string) error {
			return g.history(scriptRef(a[0], a[1]))
		},
	}
}

func newLibHistoryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME",
		Short: "List the stored versions of a library, newest first (etcd)",
		Long:  fmt.Sprintf(historyHelp, "library"),
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, a []string) error {
			return g.history(libraryRef(a[0]))
		},
	}
}

func scriptRef(subject, name string) store.Ref {
	return store.Ref{Kind: store.KindScript, Subject: subject, Name: name}
}

func libraryRef(name string) store.Ref {
	return store.Ref{Kind: store.KindLibrary, Name: name}
}

// withEtcd runs fn against the etcd store, within --timeout: only etcd keeps past versions.
func (g *globals) withEtcd(fn func(ctx context.Context, st *etcdstore.Store) error) error {
	if g.backend != "etcd" {
		return usageError{fmt.Errorf("history and rollback need --backend etcd: a folder keeps no past versions")}
	}
	return g.withStore(func(ctx context.Context, st store.Store) error {
		es, ok := st.(*etcdstore.Store)
		if !ok {
			return fmt.Errorf("the store of %s is not etcd's", g.where())
		}
		return fn(ctx, es)
	})
}

// noSuch says that etcd holds nothing of ref.
func (g *globals) noSuch(ref store.Ref, h etcdstore.History) error {
	if h.Compacted {
		return fmt.Errorf("no such %s in %s (etcd has compacted its older revisions: one deleted before then cannot be found)", ref, g.where())
	}
	return fmt.Errorf("no such %s in %s", ref, g.where())
}

func (g *globals) history(ref store.Ref) error {
	if err := ref.Validate(); err != nil {
		return usageError{err}
	}
	return g.withEtcd(func(ctx context.Context, es *etcdstore.Store) error {
		h, err := es.History(ctx, ref)
		if err != nil {
			return err
		}
		if len(h.Versions) == 0 && h.Deleted == 0 {
			return g.noSuch(ref, h)
		}
		return printHistory(g.stdout, h)
	})
}

// printHistory writes one line per version, newest first, and says when older ones were compacted.
func printHistory(out io.Writer, h etcdstore.History) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "REVISION\tTIME\tSIZE\tVERSION")
	if h.Deleted != 0 {
		fmt.Fprintf(w, "%d\t-\t-\tdeleted\n", h.Deleted)
	}
	for i, v := range h.Versions {
		mark := "" // after the last column, so that no line ends in spaces
		if i == 0 && h.Deleted == 0 {
			mark = "  current"
		}
		fmt.Fprintf(w, "%d\t-\t%d\t%s%s\n", v.Revision, len(v.Source), store.Version(v.Source), mark)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if h.Compacted {
		_, err := fmt.Fprintln(out, "older versions were compacted")
		return err
	}
	return nil
}
