package kv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// benchKeys is the store size for the benchmarks: small by default, so a
// plain run is quick; TXD_KV_KEYS=N sets it (10M needs about 1.3 GB of disk
// under TXD_KV_DIR).
func benchKeys() int {
	n, err := strconv.Atoi(os.Getenv("TXD_KV_KEYS"))
	if err != nil || n <= 0 {
		return 20_000
	}
	return n
}

func benchKey(i int) string { return fmt.Sprintf("k%09d", i) }

// benchValue is 100 bytes of random letters: values that compress about as
// real ones do, unlike a repeated byte.
func benchValue(rng *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	b := make([]byte, 100)
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

// benchStore opens a store under TXD_KV_DIR (or a test directory) holding
// benchKeys keys of 100-byte values, made durable.
func benchStore(b *testing.B) (*Store, int) {
	dir, err := os.MkdirTemp(os.Getenv("TXD_KV_DIR"), "kvbench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	n := benchKeys()
	rng := rand.New(rand.NewPCG(3, 4))
	ops := make([]Op, 0, 10_000)
	seq := uint64(0)
	for i := range n {
		ops = append(ops, Op{Key: benchKey(i), Value: benchValue(rng)})
		if len(ops) == cap(ops) || i == n-1 {
			seq++
			if err := s.Apply(seq, ops); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	if _, err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	return s, n
}

// BenchmarkApply applies batches of 16 transactions of two random-key SETs,
// as a group commit delivers them, and Syncs every 4 MiB applied; cpu-ns/txn
// counts the engine's background work too.
func BenchmarkApply(b *testing.B) {
	s, n := benchStore(b)
	rng := rand.New(rand.NewPCG(1, 2))
	ops := make([]Op, 32)
	vals := make([]string, 1024)
	for i := range vals {
		vals[i] = benchValue(rng)
	}
	cpu0, since := cpuTime(), 0
	for b.Loop() {
		for i := range ops {
			ops[i] = Op{Key: benchKey(rng.IntN(n + n/10)), Value: vals[rng.IntN(len(vals))]}
		}
		if err := s.Apply(s.Seq()+1, ops); err != nil {
			b.Fatal(err)
		}
		if since += len(ops) * 110; since >= 4<<20 {
			if _, err := s.Sync(); err != nil {
				b.Fatal(err)
			}
			since = 0
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*16), "cpu-ns/txn")
}

func BenchmarkGet(b *testing.B) {
	s, n := benchStore(b)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, ok, err := s.Get(benchKey(rng.IntN(n))); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkScan1000(b *testing.B) {
	s, n := benchStore(b)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if page, _, err := s.Scan("k", benchKey(rng.IntN(max(1, n-1000))), 1000); err != nil || len(page) != 1000 {
			b.Fatal(len(page), err)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
