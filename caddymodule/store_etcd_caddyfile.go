package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile reads
//
//	store etcd [<endpoint>...] {
//		endpoints       <endpoint>...
//		prefix          <prefix>
//		username        <name>
//		password        <secret>
//		dial_timeout    <duration>
//		tls_ca          <file>
//		tls_client_cert <cert file> <key file>
//		tls_server_name <name>
//	}
func (s *EtcdStore) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the backend name
	s.Endpoints = append(s.Endpoints, d.RemainingArgs()...)
	nesting := d.Nesting() // fixed before the loop: inside the block it grows
	for d.NextBlock(nesting) {
		switch opt := d.Val(); opt {
		case "endpoints":
			args, err := listArgs(d)
			if err != nil {
				return err
			}
			s.Endpoints = append(s.Endpoints, args...)
		case "prefix":
			if err := oneArg(d, &s.Prefix); err != nil {
				return err
			}
		case "username":
			if err := oneArg(d, &s.Username); err != nil {
				return err
			}
		case "password":
			if err := oneArg(d, &s.Password); err != nil {
				return err
			}
		case "dial_timeout":
			dur, err := durationArg(d, opt, "5s")
			if err != nil {
				return err
			}
			s.DialTimeout = dur
		case "tls_ca":
			if err := oneArg(d, &s.tls().CA); err != nil {
				return err
			}
		case "tls_client_cert":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("tls_client_cert: want <cert file> <key file>")
			}
			s.tls().Cert, s.tls().Key = args[0], args[1]
		case "tls_server_name":
			if err := oneArg(d, &s.tls().ServerName); err != nil {
				return err
			}
		default:
			return d.Errf("store etcd: unknown option %q (known: endpoints, prefix, username, password, dial_timeout, tls_ca, tls_client_cert, tls_server_name)", opt)
		}
	}
	return nil
}

func (s *EtcdStore) tls() *EtcdTLS {
	if s.TLS == nil {
		s.TLS = new(EtcdTLS)
	}
	return s.TLS
}

var _ caddyfile.Unmarshaler = (*EtcdStore)(nil)
