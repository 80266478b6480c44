package walwriter

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/walstore"
)

// fakeApplier records what the writer tells an engine; at SyncThrough it
// notes whether the log file already holds the commit it syncs through.
type fakeApplier struct {
	path string
	mu   sync.Mutex
	seqs []uint64 // Durable calls
	sync []uint64 // SyncThrough calls
	held []bool   // the log held that commit's record at SyncThrough
}

func (a *fakeApplier) Durable(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seqs = append(a.seqs, seq)
}

func (a *fakeApplier) SyncThrough(seq uint64) error {
	b, err := os.ReadFile(a.path)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sync = append(a.sync, seq)
	a.held = append(a.held, err == nil && bytes.Contains(b, []byte("last-commit")))
	return err
}

// shadowOf is a shadow that snapshots to nothing.
type shadowOf struct{}

func (shadowOf) Apply(protocol.Record) error { return nil }
func (shadowOf) Snapshot() []protocol.Record { return nil }

// TestApplierHearsDurableCommits: the engine hears the highest durable
// commit after each synced batch, and a checkpoint first writes its batch
// (so the log holds the last commit), then syncs the engine through it,
// then rewrites the log.
func TestApplierHearsDurableCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wal")
	l, _, err := walstore.Open(path, walstore.Options{}, func(walstore.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	durable := make(chan protocol.Record, 8)
	me := e.Spawn(func() actor.Receiver { return &durableRecorder{ch: durable} }, "rec")
	app := &fakeApplier{path: path}
	stats := &Stats{}
	w := Start(l, Config{Stats: stats, Fatal: func(err error) { t.Errorf("wal: %v", err) }, Engine: e,
		Applier: app, Shadow: shadowOf{}, CompactAt: 1 << 20})
	defer func() {
		w.Close()
		hollywood.Poison(e, me)
		l.Close()
	}()
	wait := func() protocol.Record {
		t.Helper()
		select {
		case r := <-durable:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no record became durable")
		}
		return protocol.Record{}
	}
	w.Append(Entry{Rec: protocol.Record{Kind: protocol.RecCommit, TxID: "T1", Seq: 1}, ReplyTo: me})
	wait()
	w.Append(Entry{Rec: protocol.Record{Kind: protocol.RecPrepared, TxID: "T2"}, ReplyTo: me})
	wait()
	// A batch over CompactAt: the checkpoint comes with it.
	w.Append(Entry{Rec: protocol.Record{Kind: protocol.RecCommit, TxID: "last-commit", Seq: 2, Reason: string(make([]byte, 1<<20))}, ReplyTo: me})
	wait()
	deadline := time.Now().Add(5 * time.Second)
	for stats.Checkpoints.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if len(app.seqs) < 2 || app.seqs[0] != 1 || app.seqs[len(app.seqs)-1] != 2 {
		t.Fatalf("Durable calls %v, want 1 first and 2 last", app.seqs)
	}
	if len(app.sync) != 1 || app.sync[0] != 2 || !app.held[0] {
		t.Fatalf("SyncThrough calls %v (log held the commit: %v), want one through 2 after the commit was written", app.sync, app.held)
	}
}
