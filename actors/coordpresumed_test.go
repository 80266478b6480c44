package actors

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// decisions collects the Decisions a fake participant receives.
type decisions chan *wire.Decision

func (d decisions) HandleMessage(_ *wire.Conn, m wire.Message) {
	if dec, ok := m.(*wire.Decision); ok {
		d <- dec
	}
}
func (d decisions) HandleClose(*wire.Conn, error) {}

// Once the coordinator has told a participant "presumed abort" for an id
// it has no record of, a client starting that id gets ABORTED, and no new
// run of it reaches the participants (whose PREPARE a participant still
// READY from a lost run would answer YES, and then abort).
func TestPresumedAbortHolds(t *testing.T) {
	tc := startTestCluster(t, "B", "C")
	got := make(decisions, 4)
	fake := wire.NewPeer(wire.PeerConfig{Addr: tc.coord.Addr(), Handler: got,
		Self: wire.Hello{NodeID: "B", Role: wire.RoleParticipant}})
	defer fake.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Ask until connected and answered.
	var dec *wire.Decision
	for dec == nil {
		_ = fake.Send(&wire.Query{TxID: "LOST", From: "B"})
		select {
		case dec = <-got:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no answer to the query")
		}
	}
	if dec.TxID != "LOST" || dec.Commit || !strings.Contains(dec.Reason, "presumed abort") {
		t.Fatalf("answer %+v, want a presumed abort", dec)
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
		t.Fatalf("Start of the presumed-aborted id: %+v, want ABORTED (presumed abort)", res)
	}
	for _, p := range tc.parts {
		st, err := tc.status(p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Store["k"]; ok {
			t.Errorf("%s applied the new run: %v", st.NodeID, st.Store)
		}
		for _, tx := range st.Transactions {
			if tx.TxID == "LOST" {
				t.Errorf("%s saw a new run of LOST: %+v", st.NodeID, tx)
			}
		}
	}
}
