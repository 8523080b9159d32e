package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/etcdstore"
)

// rollbackHelp explains the rollback commands; %[1]s is "script" or "library", %[2]s the command
// that lists the revisions.
const rollbackHelp = `Stores an earlier text of a %[1]s again, as a new version (the versions in between stay in
the history). Without REVISION: the newest earlier version whose text differs from the current
one, or, for a deleted %[1]s, the last version before the delete. With REVISION: the text the
%[1]s had at that etcd revision (see %[2]s). The text is compiled with the stored libraries first,
as add does: one that no longer compiles is refused and nothing is stored. Refused too: a
revision where the %[1]s did not exist, one etcd has compacted, a text that is already the
current one, and a change stored by someone else meanwhile. Needs the etcd backend.`

func newRollbackCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback SUBJECT NAME [REVISION]",
		Short: "Store an earlier version of a script again (etcd)",
		Long:  fmt.Sprintf(rollbackHelp, "script", `"msgscriptcli history SUBJECT NAME"`),
		Args:  args(cobra.RangeArgs(2, 3)),
		RunE: func(_ *cobra.Command, a []string) error {
			rev, err := revisionArg(a[2:])
			if err != nil {
				return err
			}
			return g.rollback(scriptRef(a[0], a[1]), rev, checkScript)
		},
	}
}

func newLibRollbackCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback NAME [REVISION]",
		Short: "Store an earlier version of a library again (etcd)",
		Long:  fmt.Sprintf(rollbackHelp, "library", `"msgscriptcli lib history NAME"`),
		Args:  args(cobra.RangeArgs(1, 2)),
		RunE: func(_ *cobra.Command, a []string) error {
			rev, err := revisionArg(a[1:])
			if err != nil {
				return err
			}
			return g.rollback(libraryRef(a[0]), rev, checkLibrary)
		},
	}
}

// revisionArg reads the optional REVISION; 0 when absent.
func revisionArg(a []string) (int64, error) {
	if len(a) == 0 {
		return 0, nil
	}
	rev, err := strconv.ParseInt(a[0], 10, 64)
	if err != nil || rev <= 0 {
		return 0, usageError{fmt.Errorf("REVISION %q: want an etcd revision, a positive number (see history)", a[0])}
	}
	return rev, nil
}

// checker validates a text before rollback stores it, as add or lib add would.
type checker func(ctx context.Context, st store.Store, ref store.Ref, origin string, text []byte) error

// checkScript compiles a script with the stored libraries, as add does.
func checkScript(ctx context.Context, st store.Store, _ store.Ref, origin string, text []byte) error {
	libs, err := storedLibraries(ctx, st)
	if err != nil {
		return fmt.Errorf("reading the libraries: %v", err)
	}
	if err := compile(origin, text, libs); err != nil {
		return fmt.Errorf("nothing stored:\n%w", err)
	}
	return nil
}

// checkLibrary compiles a library with the other stored libraries, as lib add does.
func checkLibrary(ctx context.Context, st store.Store, ref store.Ref, origin string, text []byte) error {
	libs, err := storedLibraries(ctx, st)
	if err != nil {
		return fmt.Errorf("reading the libraries: %v", err)
	}
	return checkLibraries(libs, []libraryFile{{path: origin, name: ref.Name, text: text}})
}

// rollback stores again the text ref had at revision rev (0: the previous version).
func (g *globals) rollback(ref store.Ref, rev int64, check checker) error {
	if err := ref.Validate(); err != nil {
		return usageError{err}
	}
	return g.withEtcd(func(ctx context.Context, es *etcdstore.Store) error {
		// The current version (revision 0 when there is none: deleted), and the one to restore.
		var current, target etcdstore.Version
		if rev == 0 {
			h, err := es.History(ctx, ref)
			if err != nil {
				return err
			}
			if len(h.Versions) == 0 && h.Deleted == 0 {
				return g.noSuch(ref, h)
			}
			if h.Deleted == 0 {
				current = h.Versions[0]
			}
			if target, err = previous(ref, h); err != nil {
				return err
			}
		} else {
			var err error
			if current, err = currentOf(ctx, es, ref); err != nil {
				return err
			}
			if target, err = at(ctx, es, ref, rev); err != nil {
				return err
			}
		}
		if current.Revision != 0 && bytes.Equal(target.Source, current.Source) {
			return fmt.Errorf("%s: the text of revision %d is already the current version (revision %d, version %s); nothing changed",
				ref, target.Revision, current.Revision, store.Version(current.Source))
		}
		if err := check(ctx, es, ref, es.Key(ref), target.Source); err != nil {
			return fmt.Errorf("%s, text of revision %d: %w", ref, target.Revision, err)
		}
		stored, err := es.Restore(ctx, ref, target.Source, current.Revision)
		if err != nil {
			return err
		}
		if current.Revision == 0 {
			fmt.Fprintf(g.stdout, "restored deleted %s to the text of revision %d: revision %d, version %s\n",
				ref, target.Revision, stored, store.Version(target.Source))
			return nil
		}
		fmt.Fprintf(g.stdout, "rolled back %s to the text of revision %d: revision %d → %d, version %s → %s\n",
			ref, target.Revision, current.Revision, stored, store.Version(current.Source), store.Version(target.Source))
		return nil
	})
}

// previous picks what rollback restores by default: the newest earlier text that differs from the
// current one (storing the same file twice makes two versions with one text), or the last version
// before a delete.
func previous(ref store.Ref, h etcdstore.History) (etcdstore.Version, error) {
	if h.Deleted != 0 {
		if len(h.Versions) == 0 {
			return etcdstore.Version{}, fmt.Errorf("%s was deleted at revision %d and older versions were compacted: nothing to restore", ref, h.Deleted)
		}
		return h.Versions[0], nil
	}
	for _, v := range h.Versions[1:] {
		if !bytes.Equal(v.Source, h.Versions[0].Source) {
			return v, nil
		}
	}
	if h.Compacted {
		return etcdstore.Version{}, fmt.Errorf("%s has no earlier version with another text: older versions were compacted", ref)
	}
	return etcdstore.Version{}, fmt.Errorf("%s has no earlier version with another text", ref)
}

// currentOf reads the current version of ref; revision 0 when there is none.
func currentOf(ctx context.Context, es *etcdstore.Store, ref store.Ref) (etcdstore.Version, error) {
	var it store.Item
	var err error
	if ref.Kind == store.KindLibrary {
		it, err = es.Library(ctx, ref.Name)
	} else {
		it, err = es.Script(ctx, ref.Subject, ref.Name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return etcdstore.Version{}, nil
	}
	return etcdstore.Version{Revision: it.Revision, Source: it.Source}, err
}

// at reads the text ref had at revision rev, saying why it cannot.
func at(ctx context.Context, es *etcdstore.Store, ref store.Ref, rev int64) (etcdstore.Version, error) {
	v, err := es.At(ctx, ref, rev)
	switch {
	case errors.Is(err, etcdstore.ErrCompacted):
		return v, fmt.Errorf("%s: revision %d was compacted: etcd no longer holds it; nothing stored", ref, rev)
	case errors.Is(err, store.ErrNotFound):
		return v, fmt.Errorf("%s did not exist at revision %d; nothing stored", ref, rev)
	case err != nil:
		return v, fmt.Errorf("%s: %v; nothing stored", ref, err)
	}
	return v, nil
}
