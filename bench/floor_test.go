package bench

import (
	"context"
	"errors"
	"fmt"
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
	disk  time.Duration // p50 of a 2PC commit's own fsyncs on this one disk (commitDiskP50)
}

const floorSamples = 2000

func measureFloor(tb testing.TB) (fsync, rtt time.Duration) {
	floor.once.Do(func() {
		floor.fsync = fsyncP50(tb)
		floor.rtt = rttP50(tb)
		floor.disk = commitDiskP50(tb)
	})
	return floor.fsync, floor.rtt
}

// sharedFloor is the floor of a commit on this one machine: its disk
// pattern as three nodes on one disk pay it (commitDiskP50) plus two
// round trips. The floor counts two lone fsyncs; here the two
// participants' fsyncs run at once on the same disk and cost more than
// one, which no code of ours can change, so the benchmarks report both.
func sharedFloor(tb testing.TB) time.Duration {
	_, rtt := measureFloor(tb)
	return floor.disk + 2*rtt
}

// commitDiskP50: what a lone 2PC commit asks of the disk, with no
// protocol around it: two logs (the participants) each append a record
// and fsync at the same moment, and when both are done a third (the
// coordinator) appends and fsyncs. The p50 of the whole.
func commitDiskP50(tb testing.TB) time.Duration {
	dir := tb.TempDir()
	var logs [3]*walstore.Log
	for i := range logs {
		l, _, err := walstore.Open(filepath.Join(dir, fmt.Sprintf("disk%d.wal", i)), walstore.Options{}, func(walstore.Record) error { return nil })
		if err != nil {
			tb.Fatal(err)
		}
		defer l.Close()
		logs[i] = l
	}
	rec := walstore.AppendRecord(nil, 1, make([]byte, 100))
	force := func(l *walstore.Log) error {
		if err := l.Write(rec); err != nil {
			return err
		}
		return l.Sync()
	}
	lat := make([]time.Duration, floorSamples)
	for i := range lat {
		t0 := time.Now()
		var wg sync.WaitGroup
		var errA, errB error
		wg.Add(2)
		go func() { defer wg.Done(); errA = force(logs[0]) }()
		go func() { defer wg.Done(); errB = force(logs[1]) }()
		wg.Wait()
		if err := errors.Join(errA, errB, force(logs[2])); err != nil {
			tb.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	return p50(lat)
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
	b.ReportMetric(float64(floor.disk.Microseconds()), "commit-disk-p50-µs")
	b.ReportMetric(float64(sharedFloor(b).Microseconds()), "shared-floor-µs")
}
