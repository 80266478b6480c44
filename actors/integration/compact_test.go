package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// With a small compaction threshold the logs are checkpointed many times
// while transactions run; their size stays bounded; and nodes restarted
// from the checkpointed logs have the same store and still answer a retry
// of a recent transaction id with its recorded outcome.
func TestCompactionKeepsLogsBoundedAndStateIntact(t *testing.T) {
	const compact = 16 << 10
	tc := startTestClusterCompact(t, compact, "B", "C")
	ctx := context.Background()
	cl, err := transport.DialClient(ctx, tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	const n = 1500
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			ops := []wire.Op{{Kind: wire.OpAdd, Key: fmt.Sprintf("k%d", i), Delta: int64(i)}}
			res, err := cl.Start(ctx, fmt.Sprintf("T%d", i), wire.TwoPC, ops)
			if err != nil || res.Outcome != wire.StateCommitted {
				t.Errorf("T%d: %v %v", i, res, err)
			}
		}(i)
	}
	wg.Wait()
	cl.Close()
	if t.Failed() {
		return
	}
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		for _, p := range tc.parts {
			st, err := tc.status(p.Addr())
			if err != nil || st.Keys != n {
				return false
			}
		}
		return true
	})
	for _, s := range []*walwriter.Stats{tc.coord.Stats, tc.parts[0].Stats} {
		if s.Checkpoints.Load() == 0 {
			t.Errorf("no checkpoint after %d bytes appended", s.Bytes.Load())
		}
	}
	// The coordinator's log holds at most its window of ended outcomes
	// plus what was appended since the last checkpoint.
	fi, err := os.Stat(filepath.Join(tc.dir, "coord.wal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("coordinator: %d checkpoints, %d bytes appended, log %d bytes (logical %d)",
		tc.coord.Stats.Checkpoints.Load(), tc.coord.Stats.Bytes.Load(), fi.Size(), tc.coord.Stats.LogBytes.Load())
	if l := tc.coord.Stats.LogBytes.Load(); l > 200<<10 {
		t.Errorf("coordinator log %d bytes after compaction", l)
	}

	// Restart everything from the checkpointed logs.
	addrs := []string{"B=" + tc.parts[0].Addr(), "C=" + tc.parts[1].Addr()}
	tc.close()
	var parts []*participant.Node
	for i, id := range []string{"B", "C"} {
		p, err := participant.Start(participant.Config{NodeID: id, Listen: addrs[i][2:], CompactBytes: compact,
			WAL: filepath.Join(tc.dir, id+".wal"), Logger: nodetest.QuietLogger(), Fatal: func(err error) { t.Error(err) }})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	tc.parts = parts
	c, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: addrs,
		WAL: filepath.Join(tc.dir, "coord.wal"), CompactBytes: compact, KeepOutcomes: 500,
		Logger: nodetest.QuietLogger(), Fatal: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	tc.coord = c
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	for _, p := range tc.parts {
		// More keys than a status carries: read them.
		rc, err := transport.DialClient(ctx, p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		got, err := rc.Get(ctx, keys)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range got {
			if want := fmt.Sprint(i); !e.Found || e.Value != want {
				t.Fatalf("%s after restart: k%d = %q (found %v), want %q", p.Addr(), i, e.Value, e.Found, want)
			}
		}
	}
	cl, err = transport.DialClient(ctx, c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	last := n - 1
	res, err := cl.Start(ctx, fmt.Sprintf("T%d", last), wire.TwoPC, []wire.Op{{Kind: wire.OpAdd, Key: fmt.Sprintf("k%d", last), Delta: int64(last)}}) // the first request exactly
	if err != nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("retry of a recent id: %v %v, want its recorded COMMITTED", res, err)
	}
}
