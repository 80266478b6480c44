package walwriter

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/walstore"
)

// durableRecorder forwards the records it is told are durable.
type durableRecorder struct{ ch chan protocol.Record }

func (d *durableRecorder) Receive(c *actor.Context) {
	if m, ok := c.Message().(Durable); ok {
		d.ch <- m.Rec
	}
}

// walRig is a WAL writer on a real file whose fsyncs a test can hold.
type walRig struct {
	w       *Writer
	path    string
	stats   *Stats
	me      *actor.PID
	durable chan protocol.Record
	syncing chan struct{} // an fsync has started
	release chan struct{} // let it finish
}

func newWALRig(t *testing.T) *walRig {
	t.Helper()
	r := &walRig{path: filepath.Join(t.TempDir(), "x.wal"), stats: &Stats{},
		durable: make(chan protocol.Record, 64), syncing: make(chan struct{}, 64), release: make(chan struct{}, 64)}
	l, _, err := walstore.Open(r.path, walstore.Options{SyncFunc: func(f *os.File) error {
		r.syncing <- struct{}{}
		<-r.release
		return f.Sync()
	}}, func(walstore.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	r.me = e.Spawn(func() actor.Receiver { return &durableRecorder{ch: r.durable} }, "rec")
	r.w = Start(l, Config{Stats: r.stats, Fatal: func(err error) { t.Errorf("wal: %v", err) }, Engine: e})
	t.Cleanup(func() {
		close(r.release) // never hold a closing writer
		r.w.Close()
		hollywood.Poison(e, r.me)
		l.Close()
	})
	return r
}

func (r *walRig) append(t *testing.T, kind protocol.RecKind, tx string, forced, deferred bool) {
	t.Helper()
	m := Entry{Rec: protocol.Record{Kind: kind, TxID: tx}, Defer: deferred}
	if forced {
		m.ReplyTo = r.me
	}
	r.w.Append(m)
}

func (r *walRig) waitSyncing(t *testing.T) {
	t.Helper()
	select {
	case <-r.syncing:
	case <-time.After(5 * time.Second):
		t.Fatal("no fsync started")
	}
}

func (r *walRig) wantDurable(t *testing.T, txs ...string) {
	t.Helper()
	for _, want := range txs {
		select {
		case rec := <-r.durable:
			if rec.TxID != want {
				t.Fatalf("durable %s, want %s", rec.TxID, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s never reported durable", want)
		}
	}
}

func (r *walRig) wantNothingDurable(t *testing.T) {
	t.Helper()
	select {
	case rec := <-r.durable:
		t.Fatalf("%s reported durable before its fsync returned", rec.TxID)
	default:
	}
}

// Records appended while an fsync runs share the next one, and nobody hears
// "durable" before the fsync that covers their record has returned.
func TestWALGroupCommit(t *testing.T) {
	r := newWALRig(t)
	r.append(t, protocol.RecPrepared, "A", true, false)
	r.waitSyncing(t) // A's fsync is running
	r.append(t, protocol.RecPrepared, "B", true, false)
	r.append(t, protocol.RecBegin, "L", false, false) // lazy: rides along
	r.append(t, protocol.RecPrepared, "C", true, false)
	r.wantNothingDurable(t)
	r.release <- struct{}{}
	r.wantDurable(t, "A")
	r.waitSyncing(t) // B, L and C: one batch
	r.wantNothingDurable(t)
	r.release <- struct{}{}
	r.wantDurable(t, "B", "C")
	if n := r.stats.Fsyncs.Load(); n != 2 {
		t.Fatalf("%d fsyncs for two batches", n)
	}
	if n := r.stats.Records.Load(); n != 4 {
		t.Fatalf("%d records durable, want 4", n)
	}
}

// A deferred record (a participant's outcome) starts no fsync of its own:
// it shares the next one a forced record starts, or gets its own after
// deferMax.
func TestWALDeferredRecord(t *testing.T) {
	r := newWALRig(t)
	r.release <- struct{}{} // the fsync that will come may finish at once
	start := time.Now()
	r.append(t, protocol.RecCommit, "D", true, true)
	r.waitSyncing(t)
	if waited := time.Since(start); waited < deferMax/2 {
		t.Fatalf("a deferred record alone was synced after %v (it may wait %v)", waited, deferMax)
	}
	r.wantDurable(t, "D")

	// Deferred, then forced: one fsync for both, at once.
	r.append(t, protocol.RecCommit, "E", true, true)
	r.append(t, protocol.RecPrepared, "F", true, false)
	r.waitSyncing(t)
	r.release <- struct{}{}
	r.wantDurable(t, "E", "F")
	if n := r.stats.Fsyncs.Load(); n != 2 {
		t.Fatalf("%d fsyncs, want 2", n)
	}
}

// Close writes what was gathered, forced or lazy, before it returns.
func TestWALCloseWritesWhatWasGathered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wal")
	l, _, err := walstore.Open(path, walstore.Options{}, func(walstore.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	w := Start(l, Config{Stats: &Stats{}, Fatal: func(err error) { t.Error(err) }, Engine: e})
	for _, tx := range []string{"a", "b", "c"} {
		w.Append(Entry{Rec: protocol.Record{Kind: protocol.RecBegin, TxID: tx}})
	}
	w.Close()
	w.Append(Entry{Rec: protocol.Record{Kind: protocol.RecBegin, TxID: "late"}}) // dropped, no panic
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	l2, _, err := walstore.Open(path, walstore.Options{}, func(rec walstore.Record) error {
		r, err := Decode(rec)
		got = append(got, r.TxID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	l2.Close()
	if len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("log holds %v, want [a b c]", got)
	}
}
