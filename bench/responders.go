package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// process is a responder running as a child process.
type process struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func start(name string, args ...string) (*process, error) { return startEnv(nil, name, args...) }

// startEnv starts name with the environment env (nil: this program's).
func startEnv(env []string, name string, args ...string) (*process, error) {
	p := &process{cmd: exec.Command(name, args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr, p.cmd.Env = p.out, p.out, env
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) output() string {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.buf.String()
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// startPlain runs this program again as the plain responder.
func startPlain(url, bridge string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return start(self, "-serve-plain", url, "-bridge", bridge)
}

// servePlain answers bench.plain with the reply msgscript gives for hello.lua, the way a
// hand-written Go service would, and serves the plain HTTP bridge on bridge, until interrupted.
func servePlain(url, bridge string) {
	nc, err := nats.Connect(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plain responder:", err)
		os.Exit(1)
	}
	reply := []byte(helloReply)
	if _, err := nc.QueueSubscribe("bench.plain", "plain", func(m *nats.Msg) { _ = m.Respond(reply) }); err != nil {
		fmt.Fprintln(os.Stderr, "plain responder:", err)
		os.Exit(1)
	}
	if bridge != "" {
		go serveBridge(nc, bridge)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	nc.Close()
}

// staticPath is where both HTTP servers answer with hello's reply themselves, without NATS: what
// Caddy costs against net/http, whatever the handler.
const staticPath = "/_static"

// serveBridge is the plain HTTP -> NATS bridge: POST /<subject> sends the body as a request and
// writes the reply, the least a hand-written bridge does. At staticPath it writes the reply
// itself.
func serveBridge(nc *nats.Conn, addr string) {
	static := []byte(helloReply + "\n") // made once, as static_response's body is
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == staticPath {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(static)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		m, err := nc.RequestWithContext(r.Context(), strings.TrimPrefix(r.URL.Path, "/"), body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(m.Data)
		_, _ = w.Write([]byte{'\n'}) // as msgscript's handler ends JSON
	})
	if err := http.ListenAndServe(addr, h); err != nil {
		fmt.Fprintln(os.Stderr, "plain bridge:", err)
		os.Exit(1)
	}
}

// startMsgscript runs the msgscript binary (built here unless one is given) on a JSON config
// serving the examples folder over NATS, and over HTTP on httpAddr through the handler (and
// staticPath with Caddy's static_response).
func startMsgscript(url, httpAddr, examples, binary, work string) (*process, error) {
	binary, err := buildMsgscript(binary, work)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(examples)
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(map[string]any{
		"admin":   map[string]any{"disabled": true},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "WARN"}}},
		"apps": map[string]any{
			"msgscript": map[string]any{
				"nats_url": url,
				"store":    map[string]any{"backend": "dir", "path": dir},
			},
			"http": map[string]any{"servers": map[string]any{"bench": map[string]any{
				"listen": []string{httpAddr},
				"routes": []any{
					map[string]any{
						"match": []any{map[string]any{"path": []string{staticPath}}},
						"handle": []any{map[string]any{"handler": "static_response", "body": helloReply + "\n",
							"headers": map[string]any{"Content-Type": []string{"application/json"}}}},
						"terminal": true,
					},
					map[string]any{"handle": []any{map[string]any{"handler": "msgscript"}}},
				},
			}}},
		},
	})
	if err != nil {
		return nil, err
	}
	config := filepath.Join(work, "msgscript.json")
	if err := os.WriteFile(config, cfg, 0o644); err != nil {
		return nil, err
	}
	return start(binary, "run", "--config", config)
}

// buildMsgscript returns binary, or when it is "" builds ./cmd/msgscript into work and returns
// its path.
func buildMsgscript(binary, work string) (string, error) {
	if binary != "" {
		return binary, nil
	}
	binary = filepath.Join(work, "msgscript")
	build := exec.Command("go", "build", "-o", binary, "./cmd/msgscript")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building msgscript: %v\n%s", err, out)
	}
	return binary, nil
}
