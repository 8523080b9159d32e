package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/engine/store"
	"github.com/msgscript/msgscript/internal/testetcd"
)

// startEtcdEngine runs an engine over the etcd store, with its own etcd client and NATS
// connection, as one msgscript instance of a cluster would.
func startEtcdEngine(t testing.TB, ns *server.Server, etcd *testetcd.Server, opts Options) *Engine {
	t.Helper()
	return startEngineOn(t, ns, func(log *zap.Logger) store.Store { return store.NewEtcd(etcd.Client(), "", log) }, opts)
}

// answer asks one engine directly (not through NATS), to see what that instance serves.
func answer(e *Engine, subject string) string {
	return string(e.Registry().Answer(context.Background(), subject, &nats.Msg{Subject: subject}).Data)
}

// Two instances on one etcd and one NATS: each message runs once, and both follow every change.
func TestTwoInstancesShareEtcdAndNATS(t *testing.T) {
	ns := startNATS(t)
	etcd := testetcd.Start(t)
	cli := etcd.Client()
	ctx := context.Background()
	if _, err := cli.Put(ctx, "msgscript/scripts/funcs.once/once", "--* subject: funcs.once\nfunction OnMessage() count() return 'v1' end"); err != nil {
		t.Fatal(err)
	}
	var a, b atomic.Int64
	ea := startEtcdEngine(t, ns, etcd, Options{Preload: []Preloader{counter(&a)}})
	eb := startEtcdEngine(t, ns, etcd, Options{Preload: []Preloader{counter(&b)}})
	nc := connect(t, ns)
	const n = 200
	for range n {
		request(t, nc, "funcs.once", "")
	}
	if a.Load()+b.Load() != n || a.Load() == 0 || b.Load() == 0 {
		t.Fatalf("runs: %d + %d, want %d in all, shared by both", a.Load(), b.Load(), n)
	}

	if _, err := cli.Put(ctx, "msgscript/scripts/funcs.once/once", "--* subject: funcs.once\nfunction OnMessage() return 'v2' end"); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*Engine{"first": ea, "second": eb} {
		eventually(t, name+" instance serves v2", func() bool { return answer(e, "funcs.once") == `{"once":"v2"}` })
	}
	if _, err := cli.Delete(ctx, "msgscript/scripts/funcs.once/once"); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*Engine{"first": ea, "second": eb} {
		eventually(t, name+" instance dropped the script", func() bool { return len(e.Registry().Subjects()) == 0 })
	}
}

// BenchmarkEtcdChangeLive measures the time from an etcd write returning to the new version
// serving on another instance (the bar is 200 ms).
func BenchmarkEtcdChangeLive(b *testing.B) {
	ns := startNATS(b)
	etcd := testetcd.Start(b)
	cli := etcd.Client()
	ctx := context.Background()
	script := func(v int) string {
		return fmt.Sprintf("--* subject: funcs.live\nfunction OnMessage() return 'v%d' end", v)
	}
	if _, err := cli.Put(ctx, "msgscript/scripts/funcs.live/live", script(0)); err != nil {
		b.Fatal(err)
	}
	e := startEtcdEngine(b, ns, etcd, Options{Logger: zap.NewNop()})
	var worst time.Duration
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		want := fmt.Sprintf(`{"live":"v%d"}`, i)
		if _, err := cli.Put(ctx, "msgscript/scripts/funcs.live/live", script(i)); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for answer(e, "funcs.live") != want {
			if time.Since(start) > 5*time.Second {
				b.Fatalf("v%d not live after 5s", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
