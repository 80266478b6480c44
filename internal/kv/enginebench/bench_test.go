package enginebench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The store size: small by default so a plain run is quick; TXD_KV_BIG=1
// measures 1M keys, TXD_KV_KEYS=N any other size. Pebble's block cache is
// TXD_KV_PEBBLE_CACHE_MIB (32), its bloom filters off with
// TXD_KV_PEBBLE_BLOOM=0.
func storeKeys() int {
	if os.Getenv("TXD_KV_BIG") == "1" {
		return envInt("TXD_KV_KEYS", 1_000_000)
	}
	return envInt("TXD_KV_KEYS", 20_000)
}

// envInt is the positive integer in the environment variable name, or def.
func envInt(name string, def int) int {
	n, err := strconv.Atoi(os.Getenv(name))
	if err != nil || n <= 0 {
		return def
	}
	return n
}

const (
	valueLen  = 100
	opsPerTxn = 2
	// syncEvery is the applied volume after which the benchmark makes the
	// engine durable, as a checkpoint every few MiB would.
	syncEvery = 4 << 20
)

var openers = map[string]func(dir string) (engine, error){
	"bbolt":  func(dir string) (engine, error) { return openBolt(filepath.Join(dir, "bolt.db")) },
	"pebble": openPebble,
}

// fixture is one engine's populated store, shared by the sub-benchmarks of
// one process.
type fixture struct {
	name string
	dir  string
	e    engine
	n    int
	seq  uint64
	rng  *rand.Rand
	pool []byte
}

func key(i int) []byte {
	b := []byte("k000000000")
	s := strconv.Itoa(i)
	copy(b[len(b)-len(s):], s)
	return b
}

func (f *fixture) value() []byte {
	off := f.rng.IntN(len(f.pool) - valueLen)
	return f.pool[off : off+valueLen]
}

func newFixture(b *testing.B, name string) *fixture {
	dir, err := os.MkdirTemp(os.Getenv("TXD_KV_DIR"), "enginebench-"+name+"-")
	if err != nil {
		b.Fatal(err)
	}
	e, err := openers[name](dir)
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{name: name, dir: dir, e: e, n: storeKeys(), rng: rand.New(rand.NewPCG(1, 2))}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	f.pool = make([]byte, 1<<16)
	for i := range f.pool {
		f.pool[i] = alphabet[f.rng.IntN(len(alphabet))]
	}
	start := time.Now()
	ops := make([]op, 0, 10_000)
	for i := 0; i < f.n; i++ {
		ops = append(ops, op{key: key(i), val: f.value()})
		if len(ops) == cap(ops) || i == f.n-1 {
			f.seq++
			if err := e.apply(f.seq, ops, false); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	if err := e.sync(); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("# %s populate keys=%d took=%v disk=%.1fMiB\n", name, f.n, time.Since(start).Round(time.Millisecond), diskMiB(dir))
	return f
}

func (f *fixture) remove() {
	f.e.close()
	os.RemoveAll(f.dir)
}

func diskMiB(dir string) float64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return float64(n) / (1 << 20)
}

// heapPeak samples HeapInuse while a benchmark runs and reports its peak and
// the process's anonymous resident memory (which counts memory an engine
// allocates outside the Go heap).
func heapPeak(b *testing.B) func() {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
		b.ReportMetric(float64(peak.Load())/(1<<20), "heap-peak-MiB")
		b.ReportMetric(rssAnonMiB(), "rss-anon-MiB")
	}
}

func rssAnonMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkEngine measures one engine per sub-benchmark on one populated
// store: group-commit applies, point reads, prefix scans, the engine's own
// size estimate, and the open time after a clean make-durable. Run engines
// in separate processes, alternating, to compare them (see the decisions doc).
func BenchmarkEngine(b *testing.B) {
	for _, name := range []string{"bbolt", "pebble"} {
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, name)
			defer f.remove()
			for _, txns := range []int{1, 16, 256} {
				b.Run(fmt.Sprintf("apply/txns=%d", txns), func(b *testing.B) { f.benchApply(b, txns, true) })
			}
			b.Run("apply-uncounted/txns=16", func(b *testing.B) { f.benchApply(b, 16, false) })
			b.Run("get", f.benchGet)
			b.Run("scan1000", f.benchScan)
			b.Run("estimate", f.benchEstimate)
			b.Run("open", f.benchOpen)
			fmt.Printf("# %s end disk=%.1fMiB\n", name, diskMiB(f.dir))
		})
	}
}

// benchApply applies batches of txns transactions of two random-key ops
// each (one in twenty a DEL, keys a tenth beyond the populated range so some
// are inserts) with the apply sequence, making the engine durable every
// syncEvery bytes. counted maintains exact key and byte counts, which reads
// each key's previous value.
func (f *fixture) benchApply(b *testing.B, txns int, counted bool) {
	done := heapPeak(b)
	cpu0 := cpuTime()
	ops := make([]op, txns*opsPerTxn)
	var since, syncs int
	var syncTime time.Duration
	for b.Loop() {
		for i := range ops {
			ops[i] = op{key: key(f.rng.IntN(f.n + f.n/10))}
			if f.rng.IntN(20) == 0 {
				ops[i].del = true
			} else {
				ops[i].val = f.value()
				since += valueLen + len(ops[i].key)
			}
		}
		f.seq++
		if err := f.e.apply(f.seq, ops, counted); err != nil {
			b.Fatal(err)
		}
		if since >= syncEvery {
			t := time.Now()
			if err := f.e.sync(); err != nil {
				b.Fatal(err)
			}
			syncTime += time.Since(t)
			syncs++
			since = 0
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*txns), "ns/txn")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*txns), "cpu-ns/txn")
	if syncs > 0 {
		b.ReportMetric(float64(syncTime.Milliseconds())/float64(syncs), "ms/sync")
	}
	done()
}

func (f *fixture) benchGet(b *testing.B) {
	done := heapPeak(b)
	for b.Loop() {
		if _, err := f.e.get(key(f.rng.IntN(f.n))); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// benchScan reads the 1000 keys under a random prefix ("k000123" covers
// k000123000 to k000123999).
func (f *fixture) benchScan(b *testing.B) {
	if f.n < 1000 {
		b.Skip("store smaller than one scan")
	}
	done := heapPeak(b)
	for b.Loop() {
		p := key(f.rng.IntN(f.n/1000) * 1000)[:7]
		n, err := f.e.scan(p, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if n < 900 {
			b.Fatalf("scan of %s found %d keys", p, n)
		}
	}
	done()
}

func (f *fixture) benchEstimate(b *testing.B) {
	for b.Loop() {
		if _, _, err := f.e.estimate(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchOpen makes the store durable, closes it, and measures opening it
// again (and closing it, which is cheap after a clean open).
func (f *fixture) benchOpen(b *testing.B) {
	if err := f.e.sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.e.close(); err != nil {
		b.Fatal(err)
	}
	var open time.Duration
	for b.Loop() {
		t := time.Now()
		e, err := openers[f.name](f.dir)
		if err != nil {
			b.Fatal(err)
		}
		open += time.Since(t)
		if err := e.close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(open.Microseconds())/float64(b.N), "µs/open")
	e, err := openers[f.name](f.dir)
	if err != nil {
		b.Fatal(err)
	}
	f.e = e
}

// cpuTime is the CPU the process has used, user and system, on every
// goroutine: it counts an engine's background work (compactions), which the
// elapsed time of a benchmark on a loaded machine hides.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
