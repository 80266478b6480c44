package protocol

import (
	"testing"

	"github.com/txd/txd/wire"
)

// InDoubt counts READY and PRECOMMITTED transactions: not one whose vote is
// still being logged, not one that voted NO, not one that knows its outcome.
func TestParticipantInDoubt(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "100"})
	want := func(what string, n int) {
		t.Helper()
		if got := p.InDoubt(); got != n {
			t.Fatalf("%s: InDoubt() = %d, want %d", what, got, n)
		}
	}
	want("empty", 0)
	effs := p.Prepare(prepareMsg("T1", add("a", 1)))
	want("PREPARED not durable yet", 0)
	p.Logged(effs[0].(Persist).Rec)
	want("T1 READY", 1)
	prepared(t, p, "T2", add("b", 1))
	want("T1, T2 READY", 2)
	p.Prepare(prepareMsg("T3", add("balance", -200))) // votes NO
	want("T3 voted NO", 2)

	pre := &wire.Prepare{TxID: "T4", Protocol: wire.ThreePC, Ops: []wire.Op{add("c", 1)}, Coord: coordID, CoordAddr: coordAddr,
		Members: []wire.Member{{ID: "B", Addr: addrOf("B")}}}
	p.Logged(p.Prepare(pre)[0].(Persist).Rec)
	p.Logged(p.PreCommit(coordID, &wire.PreCommit{TxID: "T4"})[0].(Persist).Rec)
	want("T4 PRECOMMITTED", 3)

	p.Logged(p.Decision(coordID, commitMsg("T1"))[0].(Persist).Rec)
	want("T1 committed", 2)
	p.Logged(p.Decision(coordID, abortMsg("T2", "no"))[0].(Persist).Rec)
	want("T2 aborted", 1)
}
