package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The stores the scale mode measures, as -store names them.
const (
	storeDir  = "dir"
	storeEtcd = "etcd"
)

// scaleStore holds the scale mode's scripts for one run of msgscript: it writes them before
// msgscript starts, gives the serve flags that read them, and edits one while msgscript runs.
type scaleStore interface {
	// write stores scripts 0..n-1, each replying initialReply(i).
	write(n int) error
	// serveArgs are the flags of `msgscript serve` that serve this store.
	serveArgs() []string
	// edit rewrites script i to reply reply, the way a user would: a saved file, an etcd put.
	edit(i int, reply string) error
	close()
}

// scaleSubject and scaleName are script i's subject and name: one script per subject, so that
// every script is its own subscription, as distinct functions are.
func scaleSubject(i int) string { return fmt.Sprintf("scale.s%d", i) }
func scaleName(i int) string    { return fmt.Sprintf("s%d", i) }

func initialReply(i int) string { return fmt.Sprintf("hello from s%d", i) }

// scaleScript is script i: hello-sized, with its headers, returning reply.
func scaleScript(i int, reply string) []byte {
	return fmt.Appendf(nil, "--* subject: %s\n--* name: %s\n\nfunction OnMessage(subject, payload)\n    return %q\nend\n",
		scaleSubject(i), scaleName(i), reply)
}

// newScaleStore opens the store named kind, its data under work (a folder of this run's own).
func newScaleStore(kind, work string) (scaleStore, error) {
	switch kind {
	case storeDir:
		dir := filepath.Join(work, "scripts")
		return &dirScaleStore{dir: dir}, os.Mkdir(dir, 0o755)
	case storeEtcd:
		e, err := startEtcd(filepath.Join(work, "etcd"))
		if err != nil {
			return nil, err
		}
		return &etcdScaleStore{etcd: e}, nil
	}
	return nil, fmt.Errorf("-store %q: want dir, etcd or both", kind)
}

// dirScaleStore is the folder store: one file per script.
type dirScaleStore struct{ dir string }

func (s *dirScaleStore) path(i int) string { return filepath.Join(s.dir, scaleName(i)+".lua") }

func (s *dirScaleStore) write(n int) error {
	for i := range n {
		if err := os.WriteFile(s.path(i), scaleScript(i, initialReply(i)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (s *dirScaleStore) serveArgs() []string { return []string{"--dir", s.dir} }

// edit rewrites the file in place, as `echo ... > file` or most editors' save does: the folder
// store's settling (a file is read once it stopped changing) is part of what edit→live measures.
func (s *dirScaleStore) edit(i int, reply string) error {
	return os.WriteFile(s.path(i), scaleScript(i, reply), 0o644)
}

func (s *dirScaleStore) close() {}

// etcdScaleStore is the etcd store, under the original's key layout that serve reads:
// msgscript/scripts/<subject>/<name>.
type etcdScaleStore struct{ etcd *benchEtcd }

func scaleKey(i int) string { return "msgscript/scripts/" + scaleSubject(i) + "/" + scaleName(i) }

// etcdTxnOps is etcd's default bound on the operations of one transaction (--max-txn-ops): the
// scripts go in batches of it, so that 10,000 of them take seconds, not one fsync each.
const etcdTxnOps = 128

func (s *etcdScaleStore) write(n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for first := 0; first < n; first += etcdTxnOps {
		var ops []clientv3.Op
		for i := first; i < min(first+etcdTxnOps, n); i++ {
			ops = append(ops, clientv3.OpPut(scaleKey(i), string(scaleScript(i, initialReply(i)))))
		}
		if _, err := s.etcd.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("etcd: writing the scripts: %v", err)
		}
	}
	return nil
}

func (s *etcdScaleStore) serveArgs() []string {
	return []string{"--backend", "etcd", "-etcdurl", s.etcd.endpoint}
}

// edit puts the key; edit→live includes the put itself, as an operator's `etcdctl put` would.
func (s *etcdScaleStore) edit(i int, reply string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.etcd.cli.Put(ctx, scaleKey(i), string(scaleScript(i, reply)))
	return err
}

func (s *etcdScaleStore) close() { s.etcd.stop() }
