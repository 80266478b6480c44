package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// BenchmarkMemoryGrowth runs 20k transactions through one cluster, measures
// the heap and goroutines, runs 180k more and measures again: finished
// transactions must not be retained (the coordinator's outcome window is set
// to 10k for the run, the logs checkpoint every 1 MiB). Run it alone:
//
//	go test -run x -bench MemoryGrowth -benchtime 1x ./bench
func BenchmarkMemoryGrowth(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := startClusterWith(b, false, 10000, 1<<20)
		cl := c.client(b)
		var seq atomic.Int64
		drive := func(n int) {
			var wg sync.WaitGroup
			var next atomic.Int64
			for w := 0; w < 64; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(n) {
						id := fmt.Sprintf("g%d", seq.Add(1))
						res, err := cl.Start(context.Background(), id, wire.TwoPC, []wire.Op{{Kind: wire.OpAdd, Key: "k" + id[len(id)-2:], Delta: 1}})
						if err != nil {
							b.Error(err)
							return
						}
						_ = res
					}
				}()
			}
			wg.Wait()
		}
		measure := func() (heap uint64, goroutines int) {
			// Wait (polling) until phase two and the Forget messages are
			// done: nothing in flight at the coordinator, and every
			// participant down to its history of forgotten transactions.
			settled(b, c)
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return ms.HeapAlloc, runtime.NumGoroutine()
		}
		drive(20000)
		h20, g20 := measure()
		drive(180000)
		h200, g200 := measure()
		b.ReportMetric(float64(h20)/(1<<20), "heap20k-MiB")
		b.ReportMetric(float64(h200)/(1<<20), "heap200k-MiB")
		b.ReportMetric(float64(h200)/float64(h20), "heap-ratio")
		b.ReportMetric(float64(g20), "goroutines20k")
		b.ReportMetric(float64(g200), "goroutines200k")
		b.ReportMetric(float64(c.coord.Stats.LogBytes.Load())/(1<<20), "coord-log-MiB")
		b.ReportMetric(float64(c.parts[0].Stats.LogBytes.Load())/(1<<20), "B-log-MiB")
	}
}

// BenchmarkRestart100k: the replay time of a participant and a coordinator
// whose logs hold 100k committed transactions, not compacted (every record)
// and checkpointed (the state they come to).
func BenchmarkRestart100k(b *testing.B) {
	const n = 100000
	dir := b.TempDir()
	partLog := filepath.Join(dir, "B.wal")
	coordLog := filepath.Join(dir, "coord.wal")
	members := []wire.Member{{ID: "B", Addr: "127.0.0.1:1"}}
	writeLog(b, partLog, n, func(i int) []protocol.Record {
		id := fmt.Sprintf("T%d", i)
		return []protocol.Record{
			{Kind: protocol.RecPrepared, TxID: id, Protocol: wire.TwoPC, Ops: []wire.Op{{Kind: wire.OpSet, Key: "k" + id, Value: "v"}},
				Coord: "COORD", CoordAddr: "127.0.0.1:2", Members: members},
			{Kind: protocol.RecCommit, TxID: id},
		}
	})
	writeLog(b, coordLog, n, func(i int) []protocol.Record {
		id := fmt.Sprintf("T%d", i)
		return []protocol.Record{
			{Kind: protocol.RecBegin, TxID: id, Protocol: wire.TwoPC, Members: members},
			{Kind: protocol.RecDecision, TxID: id, Commit: true, Members: members},
			{Kind: protocol.RecEnd, TxID: id},
		}
	})
	quiet := quietLogger()
	b.ResetTimer()
	var partTime, coordTime time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		p, err := participant.Start(participant.Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: partLog,
			CompactBytes: -1, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		partTime += time.Since(t0)
		p.Close()
		t0 = time.Now()
		c, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0",
			Participants: []string{"B=127.0.0.1:1"}, WAL: coordLog, CompactBytes: -1, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		coordTime += time.Since(t0)
		c.Close()
	}
	b.ReportMetric(float64(partTime.Milliseconds())/float64(b.N), "participant-ms")
	b.ReportMetric(float64(coordTime.Milliseconds())/float64(b.N), "coordinator-ms")
}

func writeLog(b *testing.B, path string, n int, recs func(i int) []protocol.Record) {
	l, _, err := walstore.Open(path, walstore.Options{NoSync: true}, func(walstore.Record) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var batch []byte
	for i := 0; i < n; i++ {
		for _, r := range recs(i) {
			payload, err := msgpack.Marshal(&r)
			if err != nil {
				b.Fatal(err)
			}
			batch = walstore.AppendRecord(batch, walstore.RecordType(r.Kind), payload)
		}
		if len(batch) > 1<<20 {
			if err := l.Write(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := l.Write(batch); err != nil {
		b.Fatal(err)
	}
}

// settled polls until no transaction is in flight anywhere in c.
func settled(b *testing.B, c *cluster) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if quiet(c) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the cluster did not settle within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func quiet(c *cluster) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	status := func(addr string) *wire.Status {
		cl, err := transport.DialClient(ctx, addr)
		if err != nil {
			return nil
		}
		defer cl.Close()
		st, _ := cl.Status(ctx)
		return st
	}
	st := status(c.coord.Addr())
	if st == nil {
		return false
	}
	for _, t := range st.Transactions {
		for _, s := range t.Participants {
			if !s.Final() {
				return false
			}
		}
	}
	for _, p := range c.parts {
		ps := status(p.Addr())
		// Forgotten transactions stay listed in a history of 1000.
		if ps == nil || len(ps.Transactions) > 1000 {
			return false
		}
	}
	return true
}
