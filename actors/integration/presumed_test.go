package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// TestPresumedAbortBinds: once the coordinator has told a participant that
// an unknown transaction aborted (presumed abort), a client retrying that id
// is answered ABORTED and the transaction is not run, also after the
// coordinator restarts: running it could collect the YES of the participant
// that was just told to abort (its new PREPARE travels on another
// connection and can overtake the answer).
func TestPresumedAbortBinds(t *testing.T) {
	tc := startTestCluster(t, "B")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// A participant asks about a transaction the coordinator never heard of.
	h := make(nodetest.ChanHandler, 4)
	asker, err := transport.DialWith(ctx, tc.coord.Addr(), wire.Hello{Version: wire.Version, NodeID: "B", Role: wire.RoleParticipant}, h, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer asker.Close()
	if err := asker.Send(&wire.Query{TxID: "LOST", From: "B"}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-h:
		d, ok := m.(*wire.Decision)
		if !ok || d.Commit || !strings.Contains(d.Reason, "presumed abort") {
			t.Fatalf("answer %+v, want a presumed abort", m)
		}
	case <-ctx.Done():
		t.Fatal("no answer to the query")
	}

	retry := func(addr, when string) {
		t.Helper()
		cl, err := transport.DialClient(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		res, err := cl.Start(ctx, "LOST", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != wire.StateAborted || !strings.Contains(res.Reason, "presumed abort") {
			t.Fatalf("retry of a presumed-aborted id %s: %+v, want ABORTED (presumed abort)", when, res)
		}
	}
	retry(tc.coord.Addr(), "")

	// The abort is in the coordinator's log: a restarted coordinator, which
	// remembers nothing else of it, answers the same.
	tc.coord.Close()
	c2, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0",
		Participants: []string{"B=" + tc.parts[0].Addr()}, WAL: filepath.Join(tc.dir, "coord.wal"),
		Logger: nodetest.QuietLogger(), Fatal: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	tc.coord = c2
	retry(c2.Addr(), "after a coordinator restart")
	st, err := tc.status(tc.parts[0].Addr())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := st.Store["k"]; ok {
		t.Fatalf("participant applied k=%q of a transaction that was presumed aborted", v)
	}
	for _, tx := range st.Transactions {
		if tx.TxID == "LOST" && tx.State != wire.StateAborted {
			t.Fatalf("participant has LOST %s", tx.State)
		}
	}
}
