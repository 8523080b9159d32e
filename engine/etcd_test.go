package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/msgscript/msgscript/internal/testetcd"
)

// answer asks one engine directly (not through NATS), to see what that instance serves.
func answer(e *Engine, subject string) string {
	return string(e.Registry().Answer(context.Background(), subject, &nats.Msg{Subject: subject}).Data)
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
	e := startEngineOn(b, ns, etcdStore(etcd), Options{Logger: zap.NewNop()})
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
