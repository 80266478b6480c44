package participant

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/internal/kv"
	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

func startPart(t *testing.T, wal string, compact int64) *Node {
	t.Helper()
	p, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: wal, Timeout: time.Minute, NoSync: true,
		CompactBytes: compact, Fatal: func(err error) { t.Errorf("node stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dialAsCoord connects to p as its coordinator, COORD; what p sends back
// goes to the recorder.
func dialAsCoord(ctx context.Context, t *testing.T, p *Node) (*transport.Conn, *recorder) {
	t.Helper()
	r := newRecorder()
	coord, err := transport.Dial(ctx, p.Addr(), wire.Hello{NodeID: "COORD", Role: wire.RoleCoordinator}, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	return coord, r
}

// commitOn runs transaction id with ops through p as its coordinator,
// committing it, and waits for the ack.
func commitOn(t *testing.T, p *Node, id string, ops ...wire.Op) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	coord, r := dialAsCoord(ctx, t, p)
	defer coord.Close()
	commitVia(t, coord, r, p, id, ops...)
}

// commitVia commits transaction id with ops through p over coord, a
// coordinator's connection whose answers go to r.
func commitVia(t *testing.T, coord *transport.Conn, r *recorder, p *Node, id string, ops ...wire.Op) {
	t.Helper()
	members := []wire.Member{{ID: "B", Addr: p.Addr()}}
	if err := coord.Send(&wire.Prepare{TxID: id, Protocol: wire.TwoPC, Coord: "COORD", Members: members, Ops: ops}); err != nil {
		t.Fatal(err)
	}
	if v := next[*wire.Vote](t, r); !v.Yes {
		t.Fatalf("vote %+v", v)
	}
	if err := coord.Send(&wire.Decision{TxID: id, Commit: true}); err != nil {
		t.Fatal(err)
	}
	if a := next[*wire.Ack](t, r); a.State != wire.StateCommitted {
		t.Fatalf("ack %+v", a)
	}
}

// valueOn reads key from p as a client.
func valueOn(t *testing.T, p *Node, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := transport.DialClient(ctx, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got, err := cl.Get(ctx, []string{key})
	if err != nil {
		t.Fatal(err)
	}
	return got[0].Value
}

func add(k string, d int64) wire.Op { return wire.Op{Kind: wire.OpAdd, Key: k, Delta: d} }

// logKinds lists the kinds of the records in the log at path.
func logKinds(t *testing.T, path string) []protocol.RecKind {
	t.Helper()
	var kinds []protocol.RecKind
	l, _, err := walstore.Open(path, walstore.Options{NoSync: true}, func(r walstore.Record) error {
		kinds = append(kinds, protocol.RecKind(r.Type))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	return kinds
}

// TestRestartReplaysOnlyAfterTheEngine: the log still holds every commit
// (no checkpoint), the engine holds them too; a restart applies none of
// them twice (ADD would show it).
func TestRestartReplaysOnlyAfterTheEngine(t *testing.T) {
	wal := filepath.Join(t.TempDir(), "B.wal")
	p := startPart(t, wal, -1)
	for _, id := range []string{"T1", "T2", "T3"} {
		commitOn(t, p, id, add("n", 10))
	}
	p.Close()
	p = startPart(t, wal, -1)
	if v := valueOn(t, p, "n"); v != "30" {
		t.Fatalf("after a restart n = %q, want 30", v)
	}
	commitOn(t, p, "T4", add("n", 1))
	p.Close()
	p = startPart(t, wal, -1)
	defer p.Close()
	if v := valueOn(t, p, "n"); v != "31" {
		t.Fatalf("after a second restart n = %q, want 31", v)
	}
}

// TestCheckpointDropsTheStore: with checkpoints at every batch the log
// holds no STORE record and opens with the engine's position; the data
// survives restarts; and a log whose engine is gone is refused.
func TestCheckpointDropsTheStore(t *testing.T) {
	dir := t.TempDir()
	wal := filepath.Join(dir, "B.wal")
	p := startPart(t, wal, 1)
	for _, id := range []string{"T1", "T2", "T3", "T4"} {
		commitOn(t, p, id, add("n", 5), wire.Op{Kind: wire.OpSet, Key: id, Value: "x"})
	}
	p.Close()
	kinds := logKinds(t, wal)
	if len(kinds) == 0 || kinds[0] != protocol.RecApplied {
		t.Fatalf("checkpointed log %v: want it to open with APPLIED", kinds)
	}
	for _, k := range kinds {
		if k == protocol.RecStore || k == protocol.RecPrepared {
			t.Fatalf("checkpointed log %v holds %v", kinds, k)
		}
	}
	p = startPart(t, wal, 1)
	if v := valueOn(t, p, "n"); v != "20" {
		t.Fatalf("n = %q, want 20", v)
	}
	p.Close()

	if err := os.RemoveAll(wal + ".kv"); err != nil {
		t.Fatal(err)
	}
	_, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: wal, NoSync: true})
	if !errors.Is(err, ErrUnpaired) {
		t.Fatalf("start without the engine: %v, want a refusal", err)
	}
}

// writeLegacyLog writes a log as a participant without a storage engine
// wrote it: a checkpoint's STORE record, then a transaction committed
// after it (its COMMIT unnumbered).
func writeLegacyLog(t *testing.T, path string) {
	t.Helper()
	l, _, err := walstore.Open(path, walstore.Options{NoSync: true}, func(walstore.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	recs, err := walwriter.EncodeRecords([]protocol.Record{
		{Kind: protocol.RecStore, Ops: []wire.Op{{Kind: wire.OpSet, Key: "n", Value: "5"}, {Kind: wire.OpSet, Key: "k", Value: "v"}}},
		{Kind: protocol.RecPrepared, TxID: "T1", Protocol: wire.TwoPC, Ops: []wire.Op{add("n", 2)}, Coord: "COORD"},
		{Kind: protocol.RecCommit, TxID: "T1", Protocol: wire.TwoPC},
	})
	if err != nil {
		t.Fatal(err)
	}
	var batch []byte
	for _, r := range recs {
		batch = walstore.AppendRecord(batch, r.Type, r.Payload)
	}
	if err := l.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyLogConverted: a log from before the engine is loaded into it
// on first start and rewritten without its STORE records; a restart then
// applies nothing twice. An engine holding data when such a log is read
// (an interrupted conversion) is emptied and loaded again.
func TestLegacyLogConverted(t *testing.T) {
	for _, interrupted := range []bool{false, true} {
		dir := t.TempDir()
		wal := filepath.Join(dir, "B.wal")
		writeLegacyLog(t, wal)
		if interrupted {
			db, err := kv.Open(wal+".kv", kv.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Apply(1, []kv.Op{{Key: "n", Value: "5"}, {Key: "junk", Value: "1"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Sync(); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
		for run := range 2 {
			p := startPart(t, wal, -1)
			if n, k, junk := valueOn(t, p, "n"), valueOn(t, p, "k"), valueOn(t, p, "junk"); n != "7" || k != "v" || junk != "" {
				t.Fatalf("interrupted %v, start %d: n=%q k=%q junk=%q, want 7, v and nothing", interrupted, run, n, k, junk)
			}
			p.Close()
			for _, k := range logKinds(t, wal) {
				if k == protocol.RecStore {
					t.Fatalf("interrupted %v, start %d: the log still holds STORE records", interrupted, run)
				}
			}
		}
	}
}

// TestSecondStartIsRefused: a second participant on the same log is
// refused with the log's own error, though the engine is opened first.
func TestSecondStartIsRefused(t *testing.T) {
	wal := filepath.Join(t.TempDir(), "B.wal")
	p := startPart(t, wal, -1)
	defer p.Close()
	_, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: wal, NoSync: true})
	if !errors.Is(err, walstore.ErrLocked) || !strings.Contains(err.Error(), wal) {
		t.Fatalf("second start: %v, want %v naming %s", err, walstore.ErrLocked, wal)
	}
}
