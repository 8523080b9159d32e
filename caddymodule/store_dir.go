package caddymodule

import (
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/dirstore"
)

func init() {
	caddy.RegisterModule(DirStore{})
}

// DirStore keeps the scripts in a folder of .lua files, watched for changes: every file with a
// `--* subject:` header is a script, every file under libs/ a library. For one machine and for
// development; use etcd to share scripts between instances.
type DirStore struct {
	// Path of the folder, relative to Caddy's working directory.
	Path string `json:"path,omitempty"`
}

func (DirStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "msgscript.stores.dir",
		New: func() caddy.Module { return new(DirStore) },
	}
}

func (s *DirStore) Validate() error {
	if s.Path == "" {
		return fmt.Errorf("store dir: no path")
	}
	// Said by `caddy validate` and at load, not first when the store is read at start.
	fi, err := os.Stat(s.Path)
	switch {
	case err != nil:
		return fmt.Errorf("store dir: %v", err)
	case !fi.IsDir():
		return fmt.Errorf("store dir: %s is not a folder", s.Path)
	}
	return nil
}

func (s *DirStore) OpenStore(log *zap.Logger) (store.Store, *clientv3.Client, error) {
	return dirstore.New(s.Path, log.Named("store.dir")), nil, nil
}

// Interface guards
var (
	_ StoreModule     = (*DirStore)(nil)
	_ caddy.Validator = (*DirStore)(nil)
)
