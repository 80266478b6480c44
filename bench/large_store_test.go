package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// largeStoreKeysEnv sets the keys of BenchmarkLargeStore (default
// largeStoreKeys, small enough for a quick -bench run).
const (
	largeStoreKeysEnv = "TXD_BENCH_KEYS"
	largeStoreKeys    = 100_000
	// largeStoreTxcliEnv names a txcli binary: its status and
	// 1000-key scan of the participant are timed too, process and all.
	largeStoreTxcliEnv = "TXD_BENCH_TXCLI"
	largeStoreValue    = 200 // bytes per value
	largeStoreCommits  = 100
	largeStoreProbes   = 20 // status and scan requests timed
)

// BenchmarkLargeStore: a participant over a storage engine of many keys
// (200-byte values) and a checkpointed log that names the engine's
// position. The engine is filled directly, in large batches, not by
// transactions. Reported: the start time (cold, then a restart after
// commits and checkpoints), the Go heap after a collection, the median and
// slowest status and 1000-key scan, and the median and slowest of a few
// committed transactions (through a coordinator, the participant
// checkpointing every 16 KiB of log meanwhile). The 10M-key figures, with
// txcli's own status and scan timed:
//
//	go build -o /tmp/txcli ./cmd/txcli
//	TXD_BENCH_KEYS=10000000 TXD_BENCH_TXCLI=/tmp/txcli go test -run x -bench LargeStore -benchtime 1x -timeout 1h ./bench
func BenchmarkLargeStore(b *testing.B) {
	keys := largeStoreKeys
	if s := os.Getenv(largeStoreKeysEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number of keys", largeStoreKeysEnv, s)
		}
		keys = n
	}
	b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
		dir := b.TempDir()
		wal := filepath.Join(dir, "B.wal")
		t0 := time.Now()
		seq := fillEngine(b, wal+".kv", keys, largeStoreValue)
		fill := time.Since(t0)
		writeCheckpointedLog(b, wal, seq)
		engine := dirBytes(b, wal+".kv")
		b.ResetTimer()
		for range b.N {
			largeStoreRound(b, dir, wal, keys)
		}
		b.ReportMetric(fill.Seconds(), "fill-s")
		b.ReportMetric(float64(engine)/(1<<30), "engine-GiB")
	})
}

// largeStoreRound starts the participant over the filled engine, measures
// it, commits through a coordinator and restarts it.
func largeStoreRound(b *testing.B, dir, wal string, keys int) {
	p, cold := startLarge(b, wal)
	defer func() { p.Close() }()
	cl := dialLarge(b, p.Addr())
	defer cl.Close()

	st, err := cl.Status(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if st.Keys < uint64(keys) {
		b.Fatalf("status counts %d keys, want at least %d", st.Keys, keys)
	}
	statusP50, statusMax := timeProbes(b, func() error { _, err := cl.Status(context.Background()); return err })
	scanP50, scanMax := timeProbes(b, func() error {
		res, err := cl.Scan(context.Background(), "", largeKey(keys/2), 1000)
		if err == nil && len(res.Entries) != 1000 {
			err = fmt.Errorf("scan: %d entries, want 1000", len(res.Entries))
		}
		return err
	})
	heap := heapInUse()
	if txcli := os.Getenv(largeStoreTxcliEnv); txcli != "" {
		for _, args := range [][]string{{"status"}, {"scan", "--after", largeKey(keys / 2), "--limit", "1000"}} {
			p50, slowest := timeProbes(b, func() error {
				out, err := exec.Command(txcli, append([]string{"--participant", p.Addr()}, args...)...).CombinedOutput()
				if err != nil {
					return fmt.Errorf("txcli %v: %v: %s", args, err, out)
				}
				return nil
			})
			b.ReportMetric(ms(p50), "txcli-"+args[0]+"-p50-ms")
			b.ReportMetric(ms(slowest), "txcli-"+args[0]+"-max-ms")
		}
	}

	commitP50, commitMax, checkpoints := commitLarge(b, dir, p, keys)
	heapAfter := heapInUse()
	p.Close()
	var warm time.Duration
	for range 3 {
		var took time.Duration
		p, took = startLarge(b, wal)
		warm = max(warm, took)
		p.Close()
	}
	p, _ = startLarge(b, wal)

	b.ReportMetric(ms(cold), "start-cold-ms")
	b.ReportMetric(ms(warm), "restart-max-ms")
	b.ReportMetric(ms(statusP50), "status-p50-ms")
	b.ReportMetric(ms(statusMax), "status-max-ms")
	b.ReportMetric(ms(scanP50), "scan1000-p50-ms")
	b.ReportMetric(ms(scanMax), "scan1000-max-ms")
	b.ReportMetric(ms(commitP50), "commit-p50-ms")
	b.ReportMetric(ms(commitMax), "commit-max-ms")
	b.ReportMetric(float64(checkpoints), "checkpoints")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(heapAfter)/(1<<20), "heap-after-commits-MiB")
}

func startLarge(b *testing.B, wal string) (*participant.Node, time.Duration) {
	t0 := time.Now()
	p, err := participant.Start(participant.Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: wal,
		CompactBytes: 16 << 10, Logger: quietLogger(), Fatal: func(err error) { b.Errorf("participant stopped: %v", err) }})
	if err != nil {
		b.Fatal(err)
	}
	return p, time.Since(t0)
}

func dialLarge(b *testing.B, addr string) *transport.Client {
	cl, err := transport.DialClient(context.Background(), addr)
	if err != nil {
		b.Fatal(err)
	}
	return cl
}

// commitLarge commits largeStoreCommits transactions through a coordinator
// to p (after one more that opens the coordinator's connection), each overwriting one existing key and adding one, and returns the
// median and slowest and the checkpoints p made meanwhile.
func commitLarge(b *testing.B, dir string, p *participant.Node, keys int) (p50, slowest time.Duration, checkpoints int64) {
	os.Remove(filepath.Join(dir, "coord.wal"))
	os.Remove(walstore.ControlPath(filepath.Join(dir, "coord.wal")))
	co, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0",
		Participants: []string{"B=" + p.Addr()}, WAL: filepath.Join(dir, "coord.wal"), Logger: quietLogger(),
		Fatal: func(err error) { b.Errorf("coordinator stopped: %v", err) }})
	if err != nil {
		b.Fatal(err)
	}
	defer co.Close()
	cl := dialLarge(b, co.Addr())
	defer cl.Close()
	before := p.Stats.Checkpoints.Load()
	value := string(make([]byte, largeStoreValue))
	var took []time.Duration
	for i := range largeStoreCommits + 1 {
		ops := []wire.Op{
			{Kind: wire.OpSet, Key: largeKey(i * (keys / largeStoreCommits)), Value: value},
			{Kind: wire.OpSet, Key: fmt.Sprintf("new-%d-%d", time.Now().UnixNano(), i), Value: value},
		}
		t0 := time.Now()
		res, err := cl.Start(context.Background(), fmt.Sprintf("L%d-%d", time.Now().UnixNano(), i), wire.TwoPC, ops)
		if err != nil {
			b.Fatal(err)
		}
		if res.Outcome != wire.StateCommitted {
			b.Fatalf("transaction %d not committed: %+v", i, res)
		}
		if i > 0 { // the first one dials the participant
			took = append(took, time.Since(t0))
		}
	}
	slices.Sort(took)
	return took[len(took)/2], took[len(took)-1], p.Stats.Checkpoints.Load() - before
}

// timeProbes runs probe largeStoreProbes times and returns the median and
// slowest durations.
func timeProbes(b *testing.B, probe func() error) (p50, slowest time.Duration) {
	var took []time.Duration
	for range largeStoreProbes {
		t0 := time.Now()
		if err := probe(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	return took[len(took)/2], took[len(took)-1]
}

// heapInUse is the Go heap in use after two collections.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func largeKey(i int) string { return fmt.Sprintf("key-%010d", i) }

// writeCheckpointedLog writes the log a checkpoint leaves when the engine
// is durable at seq and no transaction is held: one APPLIED record.
func writeCheckpointedLog(b *testing.B, path string, seq uint64) {
	l, _, err := walstore.Open(path, walstore.Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	recs, err := walwriter.EncodeRecords([]protocol.Record{{Kind: protocol.RecApplied, Seq: seq}})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Rewrite(recs); err != nil {
		b.Fatal(err)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// dirBytes is the size of the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
