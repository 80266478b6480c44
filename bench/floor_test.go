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
	"github.com/txd/txd/wire/transport"
)

// The floor under a commit: what the disk and the loopback network cost on
// their own, measured in the same run as the commits so that the ratio
// means something on a shared, noisy machine.

// floor is measured once per benchmark binary.
var floor struct {
	once  sync.Once
	fsync time.Duration // p50 of a small append + fsync
	rtt   time.Duration // p50 of a small framed request/reply over loopback
	disk2 time.Duration // p50 of a 2PC commit's own fsyncs on this one disk (commitDiskP50)
	disk3 time.Duration // the same for 3PC
	disk1 time.Duration // the same for PARALLEL: the two PREPAREDs only
}

const floorSamples = 2000

func measureFloor(tb testing.TB) (fsync, rtt time.Duration) {
	floor.once.Do(func() {
		floor.fsync = fsyncP50(tb)
		floor.rtt = rttP50(tb)
		// Logs 0 and 1 are the participants, 2 the coordinator.
		floor.disk2 = commitDiskP50(tb, [][]int{{0, 1}, {2}})       // PREPARED ×2, then the decision
		floor.disk3 = commitDiskP50(tb, [][]int{{0, 1, 2}, {0, 1}}) // PREPARED ×2 and BEGIN, then PRECOMMIT ×2
		floor.disk1 = commitDiskP50(tb, [][]int{{0, 1}})            // PARALLEL: PREPARED ×2, nothing after
	})
	return floor.fsync, floor.rtt
}

// sharedFloor is the floor of a commit on this one machine: its own
// fsyncs as three nodes on one disk pay them (commitDiskP50), plus the
// round trips before the client hears (2PC: the client's and PREPARE's;
// 3PC: PRE-COMMIT's too). The floor counts two lone fsyncs and
// two round trips for both; here the participants' fsyncs run at once on
// the same disk and cost more than one, which no code of ours can change,
// so the benchmarks report against both.
func sharedFloor(tb testing.TB, proto wire.Protocol) time.Duration {
	_, rtt := measureFloor(tb)
	switch proto {
	case wire.ThreePC:
		return floor.disk3 + 3*rtt
	case wire.Parallel:
		return floor.disk1 + 2*rtt
	}
	return floor.disk2 + 2*rtt
}

// commitDiskP50 replays what a lone commit asks of the disk, with no
// protocol around it: in each stage, the listed logs each append a
// 100-byte record and fsync at the same moment; a stage starts when the
// one before is done. The p50 of the whole.
func commitDiskP50(tb testing.TB, stages [][]int) time.Duration {
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
	errs := make([]error, len(logs))
	for i := range lat {
		t0 := time.Now()
		for _, stage := range stages {
			var wg sync.WaitGroup
			for _, n := range stage {
				wg.Add(1)
				go func() { defer wg.Done(); errs[n] = force(logs[n]) }()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				tb.Fatal(err)
			}
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
	srv := transport.NewServer(ln, transport.ServerConfig{Self: wire.HelloAck{NodeID: "echo", Role: wire.RoleParticipant}, Handler: echo{}})
	go srv.Serve()
	defer srv.Close()
	cl, err := transport.DialClient(context.Background(), ln.Addr().String())
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

func (echo) HandleMessage(c *transport.Conn, m wire.Message) {
	if r, ok := m.(*wire.StatusReq); ok {
		_ = c.Send(&wire.Status{ReqID: r.ReqID, NodeID: "echo", Role: wire.RoleParticipant})
	}
}
func (echo) HandleClose(*transport.Conn, error) {}

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
	b.ReportMetric(float64(floor.disk2.Microseconds()), "2pc-disk-p50-µs")
	b.ReportMetric(float64(floor.disk3.Microseconds()), "3pc-disk-p50-µs")
	b.ReportMetric(float64(sharedFloor(b, wire.TwoPC).Microseconds()), "2pc-shared-floor-µs")
	b.ReportMetric(float64(sharedFloor(b, wire.ThreePC).Microseconds()), "3pc-shared-floor-µs")
	b.ReportMetric(float64(floor.disk1.Microseconds()), "parallel-disk-p50-µs")
	b.ReportMetric(float64(sharedFloor(b, wire.Parallel).Microseconds()), "parallel-shared-floor-µs")
}
