package luamods

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/internal/testetcd"
	"github.com/msgscript/msgscript/internal/testnats"
)

func startNATS(t *testing.T) *nats.Conn { return testnats.Connect(t, testnats.Start(t).ClientURL()) }

func TestNATS(t *testing.T) {
	nc := startNATS(t)
	env := &Env{NATS: func() *nats.Conn { return nc }}
	got := make(chan string, 1)
	if _, err := nc.Subscribe("events.x", func(m *nats.Msg) { got <- string(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Subscribe("svc.upper", func(m *nats.Msg) { _ = m.Respond([]byte(strings.ToUpper(string(m.Data)))) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	expect(t, env, `return require("nats").publish("events.x", "hello")`, "true")
	select {
	case m := <-got:
		if m != "hello" {
			t.Errorf("published %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing published")
	}
	expect(t, env, `return require("nats").request("svc.upper", "abc")`, "ABC")
	expect(t, env, `local r, err = require("nats").request("svc.nobody", "x", 0.5) return r, err ~= nil`, "nil|true")

	// No connection: an error, not a crash.
	expect(t, &Env{}, `local ok, err = require("nats").publish("a", "b") return ok, err`, "false|nats: not connected")
}

func TestEtcd(t *testing.T) {
	cli := testetcd.Start(t).Client()
	env := &Env{Etcd: cli}
	expect(t, env, `local etcd = require("etcd")
		assert(etcd.put("app/a", "1") == nil)
		assert(etcd.put("app/b", "2") == nil)
		local one = etcd.get("app/a")
		local all = etcd.get("app/", true)
		local keys = {}
		for _, kv in ipairs(all) do keys[#keys + 1] = kv:getKey() .. "=" .. kv.getValue() end
		assert(etcd.delete("app/a") == nil)
		local gone = etcd.get("app/a")
		return #one, one[1]:getValue(), table.concat(keys, ","), #gone`, "1|1|app/a=1,app/b=2|0")
	expect(t, &Env{}, `local kvs, err = require("etcd").get("x") return kvs, err ~= nil, require("etcd").put("x", "y") ~= nil`, "nil|true|true")

	// Under EtcdPrefix the keys are relative to it, and nothing outside it is reached.
	inside := &Env{Etcd: cli, EtcdPrefix: "team/"}
	expect(t, inside, `local etcd = require("etcd")
		assert(etcd.put("a", "3") == nil)
		assert(etcd.delete("app/b") == nil)
		local keys = {}
		for _, kv in ipairs(etcd.get("", true)) do keys[#keys + 1] = kv:getKey() .. "=" .. kv:getValue() end
		return table.concat(keys, ",")`, "a=3")
	expect(t, env, `local keys = {}
		for _, kv in ipairs(require("etcd").get("", true)) do keys[#keys + 1] = kv:getKey() end
		return table.concat(keys, ",")`, "app/b,team/a")
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		c, _ := r.Cookie("session")
		cookie := ""
		if c != nil {
			cookie = c.Value
		}
		switch r.URL.Path {
		case "/slow":
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
			return
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 2048)))
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "token", Value: "t1"})
		w.Header().Set("X-Seen", fmt.Sprintf("%s %s q=%s h=%s auth=%s:%s cookie=%s ct=%s",
			r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-A"), user, pass, cookie, r.Header.Get("Content-Type")))
		w.WriteHeader(201)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	env := &Env{MaxHTTPBody: 1024}

	expect(t, env, fmt.Sprintf(`local http = require("http")
		local r = http.get(%q, {query = {a = "1"}, headers = {["X-A"] = "h"}, cookies = {session = "s1"}, auth = {user = "u", pass = "p"}})
		return r.status_code, r.headers["X-Seen"], r.cookies.token, r.body_size, r.url`, srv.URL+"/get"),
		"201|GET /get q=a=1 h=h auth=u:p cookie=s1 ct=|t1|0|"+srv.URL+"/get?a=1")
	expect(t, env, fmt.Sprintf(`local http = require("http")
		local r1 = http.post(%[1]q, {body = "raw body", headers = {["Content-Type"] = "text/plain"}})
		local r2 = http.put(%[1]q, {form = {x = "1"}})
		local r3 = http.request("PATCH", %[1]q, {body = "p", query = "k=v"})
		local r4 = http.delete(%[1]q)
		local r5 = http.head(%[1]q)
		local r6 = http.patch(%[1]q, {form = "y=2"})
		return r1.body, r2.body, r2.headers["X-Seen"], r3.headers["X-Seen"], r4.status_code, r5.body, r6.body`, srv.URL+"/x"),
		"raw body|x=1|PUT /x q= h= auth=: cookie= ct=application/x-www-form-urlencoded|PATCH /x q=k=v h= auth=: cookie= ct=|201||y=2")

	// Errors come back as nil, message: a timeout, the response-size cap, a bad URL.
	expect(t, env, fmt.Sprintf(`local r, err = require("http").get(%q, {timeout = 0.2}) return r, err ~= nil`, srv.URL+"/slow"), "nil|true")
	expect(t, env, fmt.Sprintf(`local r, err = require("http").get(%q) return r, err`, srv.URL+"/big"), "nil|http: response body over 1024 bytes")
	expect(t, env, `local r, err = require("http").get("file:///etc/passwd") return r, err ~= nil`, "nil|true")

	// The call's deadline ends a request the script gave no timeout.
	start := time.Now()
	_, _ = try(t, env, fmt.Sprintf(`return require("http").get(%q)`, srv.URL+"/slow"), 300*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a request outlived the call's deadline by %s", d)
	}

	// AllowURL refuses what it is told to (the sandbox's http_hosts, see luaenv).
	refuse := &Env{AllowURL: func(u *url.URL) error { return fmt.Errorf("not %s", u.Host) }}
	expect(t, refuse, fmt.Sprintf(`local r, err = require("http").get(%q) return r, err`, srv.URL+"/ok"), "nil|not "+strings.TrimPrefix(srv.URL, "http://"))
}

// AllowURL checks every redirect too, and DialContext makes every connection: together they are
// what confines the sandbox's http module (see luaenv).
func TestHTTPConfinedClient(t *testing.T) {
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			http.Redirect(w, r, other.URL+"/admin", http.StatusTemporaryRedirect)
			return
		}
		if r.URL.Path == "/here" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(r.URL.Path))
	}))
	defer srv.Close()
	var dialled []string
	var mu sync.Mutex
	env := &Env{
		AllowURL: func(u *url.URL) error {
			if u.Host != strings.TrimPrefix(srv.URL, "http://") {
				return fmt.Errorf("not %s", u.Host)
			}
			return nil
		},
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, address)
			mu.Unlock()
			return (&net.Dialer{}).DialContext(ctx, network, address)
		},
	}
	expect(t, env, fmt.Sprintf(`local r, err = require("http").delete(%q) return r, err`, srv.URL+"/away"),
		fmt.Sprintf(`nil|http: Delete "%s/admin": redirect refused: not %s`, other.URL, strings.TrimPrefix(other.URL, "http://")))
	if n := reached.Load(); n != 0 {
		t.Errorf("a refused redirect was followed %d times", n)
	}
	expect(t, env, fmt.Sprintf(`local r = require("http").get(%q) return r.body, r.url`, srv.URL+"/here"), "/final|"+srv.URL+"/final")
	mu.Lock()
	defer mu.Unlock()
	if len(dialled) == 0 || dialled[0] != strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("DialContext made %v", dialled)
	}
	if newHTTPClient(&Env{}) != httpClient || newHTTPClient(env) == httpClient {
		t.Error("an Env that confines nothing shares the client; one that does has its own")
	}
}

func TestLFS(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	expect(t, nil, fmt.Sprintf(`local lfs = require("lfs")
		local d = %q
		assert(lfs.mkdir(d .. "/sub"))
		assert(lfs.touch(d .. "/f.txt", 1000, 2000))
		local names = {}
		for n in lfs.dir(d) do names[#names + 1] = n end
		table.sort(names)
		local a = lfs.attributes(d .. "/f.txt")
		local ok, err = lfs.attributes(d .. "/none")
		assert(lfs.rmdir(d .. "/sub"))
		return table.concat(names, ","), a.mode, a.size, a.modification, lfs.attributes(d, "mode"), ok, err ~= nil, lfs.currentdir(), lfs.chdir`, dir),
		fmt.Sprintf(".,..,f.txt,sub|file|0|2000|directory|nil|true|%s|nil", wd))
	if _, err := os.Stat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("rmdir left the folder: %v", err)
	}
}
