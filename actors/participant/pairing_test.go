package participant

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/txd/txd/internal/kv"
	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
)

// startErr starts a participant on wal that must be refused, and returns
// the refusal.
func startErr(t *testing.T, wal string) error {
	t.Helper()
	p, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: wal, NoSync: true})
	if err == nil {
		p.Close()
		t.Fatal("start succeeded, want a refusal")
	}
	return err
}

// checkRefusal checks that err is ErrUnpaired naming the log, its control
// file, the engine and the fresh start.
func checkRefusal(t *testing.T, err error, wal string) {
	t.Helper()
	if !errors.Is(err, ErrUnpaired) {
		t.Fatalf("start: %v, want %v", err, ErrUnpaired)
	}
	for _, want := range []string{wal, walstore.ControlPath(wal), wal + ".kv", "Fresh start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %q", err, want)
		}
	}
}

func missing(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after the refusal: %v, want it left missing", path, err)
	}
}

// TestEngineWithoutLogRefused: the log and its control file deleted, the
// engine kept: the node refuses to start (it would serve data its log no
// longer accounts for) and creates no log; with the engine deleted too
// it starts fresh and empty.
func TestEngineWithoutLogRefused(t *testing.T) {
	wal := filepath.Join(t.TempDir(), "B.wal")
	p := startPart(t, wal, -1)
	commitOn(t, p, "T1", wire.Op{Kind: wire.OpSet, Key: "k", Value: "v"})
	p.Close()
	for _, f := range []string{wal, walstore.ControlPath(wal)} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	checkRefusal(t, startErr(t, wal), wal)
	missing(t, wal)

	if err := os.RemoveAll(wal + ".kv"); err != nil {
		t.Fatal(err)
	}
	p = startPart(t, wal, -1)
	defer p.Close()
	if v := valueOn(t, p, "k"); v != "" {
		t.Fatalf("fresh start: k = %q, want nothing", v)
	}
}

// TestEmptyEngineWithoutLogStarts: an engine that holds nothing (the node
// stopped between creating its engine and its log) is a fresh node.
func TestEmptyEngineWithoutLogStarts(t *testing.T) {
	wal := filepath.Join(t.TempDir(), "B.wal")
	db, err := kv.Open(wal+".kv", kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	p := startPart(t, wal, -1)
	p.Close()
}

// TestLogWithoutEngine: the engine deleted, the log kept. A log that was
// checkpointed (its commits before that only in the engine) is refused,
// and the engine is not left created; a log never checkpointed holds
// every commit, and the engine is rebuilt from it.
func TestLogWithoutEngine(t *testing.T) {
	for _, checkpointed := range []bool{true, false} {
		wal := filepath.Join(t.TempDir(), "B.wal")
		compact := int64(-1)
		if checkpointed {
			compact = 1
		}
		p := startPart(t, wal, compact)
		for _, id := range []string{"T1", "T2"} {
			commitOn(t, p, id, add("n", 5))
		}
		p.Close()
		if err := os.RemoveAll(wal + ".kv"); err != nil {
			t.Fatal(err)
		}
		if checkpointed {
			checkRefusal(t, startErr(t, wal), wal)
			missing(t, wal+".kv")
			continue
		}
		p = startPart(t, wal, compact)
		if v := valueOn(t, p, "n"); v != "10" {
			t.Errorf("engine rebuilt from the log: n = %q, want 10", v)
		}
		p.Close()
	}
}
