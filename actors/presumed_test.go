package actors

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// TestPresumedAbortBinds: once the coordinator has told a participant that
// an unknown transaction aborted (presumed abort), a client retrying that id
// is answered ABORTED and the transaction is not run: running it could
// collect the YES of the participant that was just told to abort (its new
// PREPARE travels on another connection and can overtake the answer).
func TestPresumedAbortBinds(t *testing.T) {
	tc := startTestCluster(t, "B")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// A participant asks about a transaction the coordinator never heard of.
	h := make(chanHandler, 4)
	asker, err := wire.DialWith(ctx, tc.coord.Addr(), wire.Hello{Version: wire.Version, NodeID: "B", Role: wire.RoleParticipant}, h, wire.DialOptions{})
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

	cl, err := wire.DialClient(ctx, tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := cl.Start(ctx, "LOST", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != wire.StateAborted || !strings.Contains(res.Reason, "presumed abort") {
		t.Fatalf("retry of a presumed-aborted id: %+v, want ABORTED (presumed abort)", res)
	}
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
