package bench

import (
	"context"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
)

// The floor under a commit: what the disk and the loopback network cost on
// their own, measured in the same run as the commits so that the ratio
// means something on a shared, noisy machine.

// floor is measured once per benchmark binary.
var floor struct {
	once  sync.Once
	fsync time.Duration // p50 of a small append + fsync
	rtt   time.Duration // p50 of a small framed request/reply over loopback
}

const floorSamples = 2000

func measureFloor(tb testing.TB) (fsync, rtt time.Duration) {
	floor.once.Do(func() {
		floor.fsync = fsyncP50(tb)
		floor.rtt = rttP50(tb)
	})
	return floor.fsync, floor.rtt
}

// fsyncP50: one 100-byte record appended and made durable, as the WAL does
// for a lone transaction.
func fsyncP50(tb testing.TB) time.Duration {
	// The same filesystem as the clusters' WALs (TMPDIR).
	l, _, err := walstore.Open(filepath.Join(tb.TempDir(), "floor.wal"), walstore.Options{}, func(walstore.Record) error { return nil })
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	rec := walstore.AppendRecord(nil, 1, make([]byte, 100))
	lat := make([]time.Duration, floorSamples)
	for i := range lat {
		t0 := time.Now()
		if err := l.Write(rec); err != nil {
			tb.Fatal(err)
		}
		if err := l.Sync(); err != nil {
			tb.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	return p50(lat)
}

// rttP50: a Status request answered by a bare wire server, no actors: the
// framing, msgpack and loopback TCP a commit's messages pay.
func rttP50(tb testing.TB) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := wire.NewServer(ln, wire.ServerConfig{Self: wire.HelloAck{NodeID: "echo", Role: wire.RoleParticipant}, Handler: echo{}})
	go srv.Serve()
	defer srv.Close()
	cl, err := wire.DialClient(context.Background(), ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	lat := make([]time.Duration, floorSamples)
	for i := range lat {
		t0 := time.Now()
		if _, err := cl.Status(context.Background()); err != nil {
			tb.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	return p50(lat)
}

type echo struct{}

func (echo) HandleMessage(c *wire.Conn, m wire.Message) {
	if r, ok := m.(*wire.StatusReq); ok {
		_ = c.Send(&wire.Status{ReqID: r.ReqID, NodeID: "echo", Role: wire.RoleParticipant})
	}
}
func (echo) HandleClose(*wire.Conn, error) {}

func p50(lat []time.Duration) time.Duration {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2]
}

// BenchmarkFloor reports the floor itself.
func BenchmarkFloor(b *testing.B) {
	fsync, rtt := measureFloor(b)
	for i := 0; i < b.N; i++ {
	}
	b.ReportMetric(float64(fsync.Microseconds()), "fsync-p50-µs")
	b.ReportMetric(float64(rtt.Microseconds()), "rtt-p50-µs")
	b.ReportMetric(float64((2*fsync + 2*rtt).Microseconds()), "floor-µs")
}
