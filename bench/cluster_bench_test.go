// Package bench measures txd on a real loopback cluster: a coordinator and two
// participants in this process, speaking the real wire protocol over TCP, with
// real WAL files (fsync on unless a benchmark says otherwise), driven through
// the same client path txcli uses.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

type cluster struct {
	coord  *coordinator.Node
	parts  []*participant.Node
	noSync bool
}

// quietLogger drops everything below warnings, as an operator running for
// speed would (--log-level warn): the per-transaction info line is not
// part of what the benchmarks measure.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func startCluster(tb testing.TB, noSync bool) *cluster {
	return startClusterWith(tb, noSync, 0, 0)
}

// startClusterWith: keep is the coordinator's outcome window and compact
// the checkpoint threshold (0: the defaults).
func startClusterWith(tb testing.TB, noSync bool, keep int, compact int64) *cluster {
	tb.Helper()
	dir := tb.TempDir()
	logger := quietLogger()
	fatal := func(err error) { tb.Errorf("node stopped: %v", err) }
	c := &cluster{noSync: noSync}
	var addrs []string
	for _, id := range []string{"B", "C"} {
		p, err := participant.Start(participant.Config{NodeID: id, Listen: "127.0.0.1:0",
			WAL: filepath.Join(dir, id+".wal"), NoSync: noSync, CompactBytes: compact, Logger: logger, Fatal: fatal,
			Metrics: benchMetrics(tb, metrics.RoleParticipant, id)})
		if err != nil {
			tb.Fatal(err)
		}
		c.parts = append(c.parts, p)
		addrs = append(addrs, id+"="+p.Addr())
	}
	co, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0",
		Participants: addrs, WAL: filepath.Join(dir, "coord.wal"), NoSync: noSync, Logger: logger, Fatal: fatal,
		MaxInflight: 1 << 20, KeepOutcomes: keep, CompactBytes: compact,
		Metrics: benchMetrics(tb, metrics.RoleCoordinator, "COORD")})
	if err != nil {
		tb.Fatal(err)
	}
	c.coord = co
	tb.Cleanup(func() {
		co.Close()
		for _, p := range c.parts {
			p.Close()
		}
	})
	// Wait until both participants are connected.
	cl := c.client(tb)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := cl.Status(context.Background())
		if err == nil && len(st.Participants) == 2 && st.Participants[0].Connected && st.Participants[1].Connected {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatal("participants did not connect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

func (c *cluster) client(tb testing.TB) *transport.Client {
	cl, err := transport.DialClient(context.Background(), c.coord.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cl.Close() })
	return cl
}

var runID atomic.Int64

// run drives b.N transactions at the given concurrency over one client
// connection and reports latency percentiles and throughput.
func run(b *testing.B, c *cluster, proto wire.Protocol, concurrency int) {
	cl := c.client(b)
	prefix := fmt.Sprintf("r%d-", runID.Add(1))
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	f0 := [3]int64{c.coord.Stats.Fsyncs.Load(), c.parts[0].Stats.Fsyncs.Load(), c.parts[1].Stats.Fsyncs.Load()}
	r0 := [2]int64{c.coord.Stats.Records.Load(), c.parts[0].Stats.Records.Load()}
	w0 := c.wire()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				// A key per transaction: the client is answered when the
				// decision is durable, before the participants have applied
				// it and released their locks, so a worker reusing its key
				// would race its own previous commit.
				txid := fmt.Sprintf("%s%d", prefix, i)
				ops := []wire.Op{{Kind: wire.OpAdd, Key: txid, Delta: 1}}
				t0 := time.Now()
				res, err := cl.Start(context.Background(), txid, proto, ops)
				if err != nil {
					b.Error(err)
					return
				}
				if res.Outcome != wire.StateCommitted {
					b.Errorf("%s: %s (%s)", res.TxID, res.Outcome, res.Reason)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	if !c.noSync {
		fsync, rtt := measureFloor(b)
		forced := 2 // forced writes in a row before the client hears
		if proto == wire.Parallel {
			forced = 1
		}
		b.ReportMetric(pct(0.50)/float64((time.Duration(forced)*fsync+2*rtt).Microseconds()), "p50/floor")
		// Against what this one machine's disk and loopback allow.
		b.ReportMetric(pct(0.50)/float64(sharedFloor(b, proto).Microseconds()), "p50/shared-floor")
	}
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tx/s")
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/tx")
	b.ReportMetric(float64(c.coord.Stats.Fsyncs.Load()-f0[0])/n, "coord-fsyncs/tx")
	b.ReportMetric(float64(c.parts[0].Stats.Fsyncs.Load()-f0[1])/n, "B-fsyncs/tx")
	b.ReportMetric(float64(c.parts[1].Stats.Fsyncs.Load()-f0[2])/n, "C-fsyncs/tx")
	// Group commit: records made durable per fsync.
	if d := c.parts[0].Stats.Fsyncs.Load() - f0[1]; d > 0 {
		b.ReportMetric(float64(c.parts[0].Stats.Records.Load()-r0[1])/float64(d), "B-records/fsync")
	}
	if d := c.coord.Stats.Fsyncs.Load() - f0[0]; d > 0 {
		b.ReportMetric(float64(c.coord.Stats.Records.Load()-r0[0])/float64(d), "coord-records/fsync")
	}
	// The wire, all nodes together (the client's own frames are not counted).
	w1 := c.wire()
	b.ReportMetric(float64(w1.frames-w0.frames)/n, "frames/tx")
	b.ReportMetric(float64(w1.bytes-w0.bytes)/n, "wire-B/tx")
	b.ReportMetric(float64(w1.flushes-w0.flushes)/n, "writes/tx")
}

type wireCount struct{ frames, bytes, flushes int64 }

// wire sums what every node's connections have sent.
func (c *cluster) wire() wireCount {
	var w wireCount
	stats := []*transport.Stats{c.coord.Wire}
	for _, p := range c.parts {
		stats = append(stats, p.Wire)
	}
	for _, s := range stats {
		w.frames += s.FramesOut.Load()
		w.bytes += s.BytesOut.Load()
		w.flushes += s.Flushes.Load()
	}
	return w
}

// BenchmarkCommit2PC: 2PC commits on a loopback cluster with fsync on, at
// several concurrencies.
func BenchmarkCommit2PC(b *testing.B) {
	for _, conc := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			run(b, startCluster(b, false), wire.TwoPC, conc)
		})
	}
}

// BenchmarkCommit3PC: the same for 3PC (one more round trip and forced
// write on each node before the client is answered).
func BenchmarkCommit3PC(b *testing.B) {
	for _, conc := range []int{1, 64} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			run(b, startCluster(b, false), wire.ThreePC, conc)
		})
	}
}

// BenchmarkCommitParallel: the same for PARALLEL (the members' durable
// votes decide; the coordinator forces nothing before the client hears).
func BenchmarkCommitParallel(b *testing.B) {
	for _, conc := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			run(b, startCluster(b, false), wire.Parallel, conc)
		})
	}
}

// BenchmarkCommit2PCNoSync: the same runs without fsync (UNSAFE: the CPU
// cost apart from the disk).
func BenchmarkCommit2PCNoSync(b *testing.B) {
	for _, conc := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			run(b, startCluster(b, true), wire.TwoPC, conc)
		})
	}
}

// BenchmarkCommit3PCNoSync: 3PC without fsync (UNSAFE).
func BenchmarkCommit3PCNoSync(b *testing.B) {
	for _, conc := range []int{1, 64} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			run(b, startCluster(b, true), wire.ThreePC, conc)
		})
	}
}
