package walwriter

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/walstore"
)

// waiterActor forwards Durable to a channel.
type waiterActor struct{ ch chan struct{} }

func (w *waiterActor) Receive(c *actor.Context) {
	if _, ok := c.Message().(Durable); ok {
		w.ch <- struct{}{}
	}
}

// BenchmarkWALRoundTrip: one forced record at a time through the WAL
// writer and its flusher, from Append to the Durable back at an actor,
// against a bare append + fsync on the same filesystem.
func BenchmarkWALRoundTrip(b *testing.B) {
	dir := b.TempDir()
	l, _, err := walstore.Open(filepath.Join(dir, "x.wal"), walstore.Options{}, func(walstore.Record) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	wal := Start(l, Config{Stats: &Stats{}, Fatal: func(err error) { b.Error(err) }, Engine: e})
	ch := make(chan struct{}, 1)
	me := e.Spawn(func() actor.Receiver { return &waiterActor{ch: ch} }, "w")
	defer func() {
		hollywood.Poison(e, me)
		wal.Close()
	}()
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		wal.Append(Entry{Rec: protocol.Record{Kind: protocol.RecPrepared, TxID: "tx"}, ReplyTo: me})
		<-ch
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "wal-p50-µs")

	f, err := os.OpenFile(filepath.Join(dir, "raw"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(4 << 20); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 100)
	for i := range lat {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i*100%(4<<20-100))); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "raw-p50-µs")
}
