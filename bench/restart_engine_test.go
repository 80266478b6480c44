package bench

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/internal/kv"
)

// BenchmarkRestartOverEngine: a participant's start time over a storage
// engine holding 10k, 100k or 1M keys (100-byte values) and an empty log
// (as right after a checkpoint): it replays only the log after the
// engine's position, so the time must not grow with the keys. Run it alone:
//
//	go test -run x -bench RestartOverEngine -benchtime 5x ./bench
func BenchmarkRestartOverEngine(b *testing.B) {
	for _, keys := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			wal := filepath.Join(b.TempDir(), "B.wal")
			fillEngine(b, wal+".kv", keys)
			quiet := quietLogger()
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				t0 := time.Now()
				p, err := participant.Start(participant.Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: wal, Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)
				p.Close()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "start-ms")
		})
	}
}

// fillEngine writes keys keys into a new engine in dir and makes it durable.
func fillEngine(b *testing.B, dir string, keys int) {
	db, err := kv.Open(dir, kv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	value := string(make([]byte, 100))
	ops := make([]kv.Op, 0, 1000)
	seq := uint64(0)
	for i := range keys {
		ops = append(ops, kv.Op{Key: fmt.Sprintf("key-%09d", i), Value: value})
		if len(ops) == cap(ops) || i == keys-1 {
			seq++
			if err := db.Apply(seq, ops); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	if _, err := db.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
}
