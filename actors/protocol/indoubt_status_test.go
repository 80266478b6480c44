package protocol

import (
	"testing"

	"github.com/txd/txd/wire"
)

// A participant's status says since when it holds a transaction in doubt
// and whom to ask about it (txcli resolve, the cluster view without a
// coordinator), and when its outcome was logged.
func TestStatusInDoubtSinceAndMembers(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000"})
	effs := p.Prepare(&wire.Prepare{TxID: "TX1", Protocol: wire.TwoPC, Ops: ops(add("balance", -1)),
		Coord: coordID, CoordAddr: coordAddr, Members: []wire.Member{{ID: "B", Addr: "b:1"}, {ID: "C", Addr: "c:1"}}})
	rec := persists(effs)[0].Rec
	rec.Time = 111 // as the WAL writer stamps it
	p.Logged(rec)
	st := txStatus(t, p, "TX1")
	if st.State != wire.StateReady || st.Prepared != 111 || st.Doubt == nil || st.Doubt.Coord != coordID || st.Doubt.CoordAddr != coordAddr || len(st.Doubt.Members) != 2 || st.Decided != 0 {
		t.Fatalf("in doubt: %+v", st)
	}
	effs = p.Decision(coordID, &wire.Decision{TxID: "TX1", Commit: true})
	rec = persists(effs)[0].Rec
	rec.Time = 222
	p.Logged(rec)
	st = txStatus(t, p, "TX1")
	if st.State != wire.StateCommitted || st.Prepared != 111 || st.Decided != 222 || st.Doubt != nil {
		t.Fatalf("decided: %+v", st)
	}
}
