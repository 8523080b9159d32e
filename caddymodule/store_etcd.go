package caddymodule

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/store"
	"github.com/msgscript/msgscript/store/etcdstore"
)

func init() {
	caddy.RegisterModule(EtcdStore{})
}

// EtcdStore keeps the scripts in etcd, under the key layout of the original msgscript
// (<prefix>/scripts/<subject>/<name> and <prefix>/libs/<name>), so that every instance of a
// cluster serves the same scripts and follows their changes.
type EtcdStore struct {
	// Endpoints of the etcd cluster. Default: the comma-separated ETCD_ENDPOINTS environment
	// variable, else http://127.0.0.1:2379.
	Endpoints []string `json:"endpoints,omitempty"`
	// Prefix of the keys. Default: msgscript.
	Prefix string `json:"prefix,omitempty"`
	// Username and Password for etcd's authentication; use placeholders such as
	// {env.ETCD_PASSWORD} rather than writing secrets into the config.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// DialTimeout bounds connecting, and reading the scripts at start. Default: 5s.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`
	// TLS to reach etcd over https.
	TLS *EtcdTLS `json:"tls,omitempty"`

	cfg clientv3.Config
	key string // identifies the shared client; holds the credentials, never logged
}

// EtcdTLS holds the files of a TLS connection to etcd.
type EtcdTLS struct {
	// CA is the PEM file of the certificate authority that signed etcd's certificate; default
	// the system's roots.
	CA string `json:"ca,omitempty"`
	// Cert and Key are the client's certificate and key, for etcd's client certificate auth.
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
	// ServerName overrides the name checked in etcd's certificate.
	ServerName string `json:"server_name,omitempty"`
}

// DefaultEtcdEndpoint is where etcd is looked for when nothing is configured.
const DefaultEtcdEndpoint = "http://127.0.0.1:2379"

// defaultDialTimeout bounds connecting to etcd and the first reading of the scripts.
const defaultDialTimeout = 5 * time.Second

func (EtcdStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "msgscript.stores.etcd",
		New: func() caddy.Module { return new(EtcdStore) },
	}
}

// Provision expands placeholders and reads the TLS files; it does not connect.
func (s *EtcdStore) Provision(caddy.Context) error {
	repl := caddy.NewReplacer()
	var lists []string
	for _, ep := range s.Endpoints {
		lists = append(lists, repl.ReplaceKnown(ep, ""))
	}
	endpoints := etcdstore.Endpoints(lists...)
	if len(endpoints) == 0 {
		endpoints = etcdstore.Endpoints(os.Getenv("ETCD_ENDPOINTS"))
	}
	if len(endpoints) == 0 {
		endpoints = []string{DefaultEtcdEndpoint}
	}
	dial := time.Duration(s.DialTimeout)
	if dial <= 0 {
		dial = defaultDialTimeout
	}
	s.cfg = clientv3.Config{
		Endpoints:   endpoints,
		Username:    repl.ReplaceKnown(s.Username, ""),
		Password:    repl.ReplaceKnown(s.Password, ""),
		DialTimeout: dial,
		// Without keepalives a watch on a member that vanished (no RST) would wait forever.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		Logger:               zap.NewNop(),
	}
	if s.TLS != nil {
		info := transport.TLSInfo{
			TrustedCAFile: repl.ReplaceKnown(s.TLS.CA, ""),
			CertFile:      repl.ReplaceKnown(s.TLS.Cert, ""),
			KeyFile:       repl.ReplaceKnown(s.TLS.Key, ""),
			ServerName:    repl.ReplaceKnown(s.TLS.ServerName, ""),
		}
		var tlsCfg *tls.Config
		var err error
		if info.CertFile == "" && info.TrustedCAFile == "" {
			tlsCfg = &tls.Config{ServerName: info.ServerName, MinVersion: tls.VersionTLS12}
		} else if tlsCfg, err = info.ClientConfig(); err != nil {
			return fmt.Errorf("store etcd: tls: %v", err)
		}
		s.cfg.TLS = tlsCfg
	}
	s.key = fmt.Sprintf("%q %q %q %+v", endpoints, s.cfg.Username, s.cfg.Password, s.TLS)
	return nil
}

func (s *EtcdStore) Validate() error {
	if s.TLS != nil && (s.TLS.Cert == "") != (s.TLS.Key == "") {
		return fmt.Errorf("store etcd: tls needs both a client certificate and its key")
	}
	if s.DialTimeout < 0 {
		return fmt.Errorf("store etcd: dial_timeout cannot be negative")
	}
	if strings.Contains(s.Prefix, " ") {
		return fmt.Errorf("store etcd: prefix %q contains a blank", s.Prefix)
	}
	return nil
}

// separateFrom refuses a Lua etcd module prefix that overlaps the store's keys: scripts that can
// write under the store's prefix can rewrite the scripts, the sandboxed ones too.
func (s *EtcdStore) separateFrom(luaPrefix string) error {
	prefix := s.Prefix
	if prefix == "" {
		prefix = etcdstore.DefaultPrefix
	}
	prefix = strings.TrimSuffix(prefix, "/") + "/"
	if luaPrefix == "" {
		return nil // the whole keyspace, on purpose: the original's default, outside the sandbox
	}
	if strings.HasPrefix(luaPrefix, prefix) || strings.HasPrefix(prefix, luaPrefix) {
		return fmt.Errorf("etcd_prefix %q overlaps the etcd store's keys (%s): scripts could rewrite the scripts", luaPrefix, prefix)
	}
	return nil
}

// OpenStore takes the shared etcd client (one per set of endpoints and credentials, kept across
// config reloads) and returns the store on it, and the client for the Lua etcd module. Closing the
// store lets go of the client.
func (s *EtcdStore) OpenStore(log *zap.Logger) (store.Store, *clientv3.Client, error) {
	cli, err := acquireEtcd(s.key, s.cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("etcd %s: %v", strings.Join(s.cfg.Endpoints, ","), err)
	}
	st := etcdstore.New(cli, s.Prefix, log.Named("store.etcd"))
	st.SetLoadTimeout(s.cfg.DialTimeout)
	return &sharedEtcdStore{Store: st, key: s.key}, cli, nil
}

// sharedEtcdStore releases the shared client when the store is closed.
type sharedEtcdStore struct {
	*etcdstore.Store
	key string
}

func (s *sharedEtcdStore) Close() error {
	_, _ = etcdClients.Delete(s.key)
	return nil
}

// etcdClients shares etcd clients between the configs of one process, like conns for NATS: a
// reload keeps the connection and its watches' transport.
var etcdClients = caddy.NewUsagePool()

type etcdClient struct{ *clientv3.Client }

func (c etcdClient) Destruct() error { return c.Close() }

func acquireEtcd(key string, cfg clientv3.Config) (*clientv3.Client, error) {
	v, _, err := etcdClients.LoadOrNew(key, func() (caddy.Destructor, error) {
		cli, err := clientv3.New(cfg)
		if err != nil {
			return nil, err
		}
		return etcdClient{cli}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(etcdClient).Client, nil
}

// Interface guards
var (
	_ StoreModule       = (*EtcdStore)(nil)
	_ caddy.Provisioner = (*EtcdStore)(nil)
	_ caddy.Validator   = (*EtcdStore)(nil)
)
