package bench

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/internal/kv"
)

// BenchmarkRestartOverEngine: a participant's start time over a storage
// engine holding 10k, 100k or 1M keys (100-byte values) and a log that
// holds only the engine's position (as right after a checkpoint): it
// replays only the log after that position, so the time must not grow
// with the keys. Run it alone:
//
//	go test -run x -bench RestartOverEngine -benchtime 5x ./bench
func BenchmarkRestartOverEngine(b *testing.B) {
	for _, keys := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			wal := filepath.Join(b.TempDir(), "B.wal")
			writeCheckpointedLog(b, wal, fillEngine(b, wal+".kv", keys, 100))
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

// fillEngine writes keys keys (largeKey) of valueBytes random printable
// bytes into a new engine in dir, 10k to a batch, makes it durable and
// returns its sequence. Random, because the engine compresses its blocks
// and the figures are for values that do not shrink; printable, so that
// txcli prints them as they are.
func fillEngine(b *testing.B, dir string, keys, valueBytes int) uint64 {
	db, err := kv.Open(dir, kv.Options{MemTableBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	rnd := rand.NewChaCha8([32]byte{1})
	value := make([]byte, valueBytes)
	ops := make([]kv.Op, 0, 10_000)
	seq := uint64(0)
	for i := range keys {
		rnd.Read(value)
		for j, c := range value {
			value[j] = letters[c&63]
		}
		ops = append(ops, kv.Op{Key: largeKey(i), Value: string(value)})
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
	return seq
}
