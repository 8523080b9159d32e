package caddymodule

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/engine/store"
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
	return nil
}

func (s *DirStore) OpenStore(log *zap.Logger) (store.Store, error) {
	return store.NewDir(s.Path, log.Named("store.dir")), nil
}

// Interface guards
var (
	_ StoreModule     = (*DirStore)(nil)
	_ caddy.Validator = (*DirStore)(nil)
)
