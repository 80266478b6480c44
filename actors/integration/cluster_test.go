// Package integration tests the coordinator and participant hosts together:
// in-process clusters on loopback TCP with real WAL files. It holds tests
// only; process-level tests (kill -9, real binaries) live in cmd/txd.
package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// testCluster is an in-process cluster (real TCP on loopback, real WAL
// files): the actor wiring end to end, without process start-up costs.
type testCluster struct {
	coord   *coordinator.Node
	parts   []*participant.Node
	dir     string
	compact int64
}

func startTestCluster(t *testing.T, ids ...string) *testCluster {
	return startTestClusterCompact(t, 0, ids...)
}

// startTestClusterCompact starts a cluster whose nodes checkpoint their
// logs every compact bytes (0: the default).
func startTestClusterCompact(t *testing.T, compact int64, ids ...string) *testCluster {
	t.Helper()
	tc := &testCluster{dir: t.TempDir(), compact: compact}
	fatal := func(err error) { t.Errorf("node stopped: %v", err) }
	var addrs []string
	for _, id := range ids {
		p, err := participant.Start(participant.Config{NodeID: id, Listen: "127.0.0.1:0", CompactBytes: compact,
			WAL: filepath.Join(tc.dir, id+".wal"), Timeout: 200 * time.Millisecond, Logger: nodetest.QuietLogger(), Fatal: fatal})
		if err != nil {
			t.Fatal(err)
		}
		tc.parts = append(tc.parts, p)
		addrs = append(addrs, id+"="+p.Addr())
	}
	c, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: addrs,
		WAL: filepath.Join(tc.dir, "coord.wal"), Timeout: 2 * time.Second, Retry: 50 * time.Millisecond,
		CompactBytes: compact, KeepOutcomes: 500, Logger: nodetest.QuietLogger(), Fatal: fatal})
	if err != nil {
		t.Fatal(err)
	}
	tc.coord = c
	t.Cleanup(tc.close)
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		st, err := tc.status(tc.coord.Addr())
		if err != nil {
			return false
		}
		for _, p := range st.Participants {
			if !p.Connected {
				return false
			}
		}
		return true
	})
	return tc
}

func (tc *testCluster) close() {
	if tc.coord != nil {
		tc.coord.Close()
		tc.coord = nil
	}
	for _, p := range tc.parts {
		p.Close()
	}
	tc.parts = nil
}

func (tc *testCluster) status(addr string) (*wire.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cl, err := transport.DialClient(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Status(ctx)
}

// Many concurrent transactions of both protocols all commit, every
// participant applies each exactly once, and stopping the nodes leaves no
// goroutine behind.
func TestClusterCommitsAndStopsClean(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tc := startTestCluster(t, "B", "C")
	cl, err := transport.DialClient(context.Background(), tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			proto := wire.TwoPC
			if i%2 == 1 {
				proto = wire.ThreePC
			}
			ops := []wire.Op{{Kind: wire.OpAdd, Key: fmt.Sprintf("k%d", i%10), Delta: 1}, {Kind: wire.OpSet, Key: fmt.Sprintf("t%d", i), Value: "x"}}
			for attempt := 0; ; attempt++ {
				// A key locked by another transaction votes NO at once;
				// retry under a new id, as a client would.
				res, err := cl.Start(context.Background(), fmt.Sprintf("T%d.%d", i, attempt), proto, ops)
				if err != nil {
					errs <- err
					return
				}
				if res.Outcome == wire.StateCommitted {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cl.Close()
	// Every participant applies every committed transaction once: the ten
	// counters sum to n and every marker key is there.
	for _, p := range tc.parts {
		nodetest.WaitFor(t, 5*time.Second, func() bool {
			st, err := tc.status(p.Addr())
			if err != nil {
				return false
			}
			sum := 0
			for i := 0; i < 10; i++ {
				var v int
				fmt.Sscan(st.Store[fmt.Sprintf("k%d", i)], &v)
				sum += v
			}
			return sum == n && len(st.Store) == 10+n
		})
	}
	tc.close()
}

// The coordinator's log outlives it: a restart with the same WAL answers a
// known transaction id with its recorded outcome.
func TestCoordinatorRestartKeepsOutcomes(t *testing.T) {
	tc := startTestCluster(t, "B")
	ctx := context.Background()
	cl, err := transport.DialClient(ctx, tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Start(ctx, "TX1", wire.TwoPC, []wire.Op{{Kind: wire.OpAdd, Key: "a", Delta: 5}})
	if err != nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("TX1: %v %v", res, err)
	}
	cl.Close()
	addrs := []string{"B=" + tc.parts[0].Addr()}
	tc.coord.Close()
	c2, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: addrs,
		WAL: filepath.Join(tc.dir, "coord.wal"), Logger: nodetest.QuietLogger(), Fatal: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	tc.coord = c2
	cl2, err := transport.DialClient(ctx, c2.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	res, err = cl2.Start(ctx, "TX1", wire.TwoPC, []wire.Op{{Kind: wire.OpAdd, Key: "a", Delta: 5}})
	if err != nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("retry of TX1 after restart: %v %v", res, err)
	}
	// The client hears COMMITTED once the decision is durable; the
	// participant applies it a moment later. Then it must stay applied once.
	var st *wire.Status
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		st, err = tc.status(tc.parts[0].Addr())
		return err == nil && st.Store["a"] != ""
	})
	if st.Store["a"] != "5" {
		t.Fatalf("a = %q after a retried TX1, want 5 (applied once)", st.Store["a"])
	}
}
