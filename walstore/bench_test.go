package walstore

import (
	"path/filepath"
	"testing"
)

// BenchmarkAppendSync is one small record made durable per op: the cost
// of a participant's vote when nothing else is in flight.
func BenchmarkAppendSync(b *testing.B) { benchmarkAppendSync(b, 1, Options{}) }

// BenchmarkAppendSyncBatch is 64 records per Sync: the group commit the
// WAL writer does under load.
func BenchmarkAppendSyncBatch(b *testing.B) { benchmarkAppendSync(b, 64, Options{}) }

// BenchmarkAppendSyncNoFsync is BenchmarkAppendSync without the disk: the
// CPU cost of the append path alone, which the disk's noise hides.
func BenchmarkAppendSyncNoFsync(b *testing.B) { benchmarkAppendSync(b, 1, Options{NoSync: true}) }

func benchmarkAppendSync(b *testing.B, perSync int, opts Options) {
	l, _, err := Open(filepath.Join(b.TempDir(), "bench.wal"), opts, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	payload := make([]byte, 64) // about the size of a vote or decision
	var batch []byte
	for range perSync {
		batch = AppendRecord(batch, 1, payload)
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()

	syncs, end := l.syncs, l.End()
	for b.Loop() {
		batch = batch[:0]
		for range perSync {
			batch = AppendRecord(batch, 1, payload)
		}
		if err := l.Write(batch); err != nil {
			b.Fatal(err)
		}
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(l.syncs-syncs)/float64(b.N), "fsyncs/op")
	if l.syncs > syncs {
		b.ReportMetric(float64(l.End()-end)/float64(l.syncs-syncs), "bytes/fsync")
	}
	b.ReportMetric(float64(perSync)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkNoteDurable is what a successful Sync adds for the control
// file's bound: a mutex-guarded copy of the end and a non-blocking kick of
// the keeper goroutine.
func BenchmarkNoteDurable(b *testing.B) {
	l, _, err := Open(filepath.Join(b.TempDir(), "bench.wal"), Options{NoSync: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for b.Loop() {
		l.noteDurable()
	}
}
