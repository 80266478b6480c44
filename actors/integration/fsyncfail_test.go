package integration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// A participant whose fsync fails stops (Fatal) without voting: the batch
// that failed to become durable is acknowledged to nobody, so the
// coordinator hears no YES and aborts the transaction by its timeout.
func TestFsyncFailureStopsTheNodeWithoutAVote(t *testing.T) {
	dir := t.TempDir()
	var failing atomic.Bool
	fatal := make(chan error, 4)
	p, err := participant.Start(participant.Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: filepath.Join(dir, "B.wal"),
		Logger: nodetest.QuietLogger(), Fatal: func(err error) { fatal <- err },
		SyncFunc: func(f *os.File) error {
			if failing.Load() {
				return errors.New("injected EIO")
			}
			return f.Sync()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: []string{"B=" + p.Addr()},
		WAL: filepath.Join(dir, "coord.wal"), Timeout: 500 * time.Millisecond, Logger: nodetest.QuietLogger(),
		Fatal: func(err error) { t.Errorf("coordinator stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	cl, err := transport.DialClient(ctx, c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := cl.Start(ctx, "OK1", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "a", Value: "1"}})
	if err != nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("before the fault: %v %v", res, err)
	}
	failing.Store(true)
	res, err = cl.Start(ctx, "BAD", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "b", Value: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != wire.StateAborted {
		t.Fatalf("BAD: %s, want ABORTED (no YES vote may leave a node whose PREPARED is not durable)", res.Outcome)
	}
	select {
	case err := <-fatal:
		t.Logf("participant stopped: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the participant did not stop after its fsync failed")
	}
}
