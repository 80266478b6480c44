package protocol

import "testing"

// A PREPARE for a transaction whose ABORT is being logged gets no YES. Found
// by the crash point test (wal.batch.synced on the coordinator): the
// coordinator died before any record of TX1 was durable; B, READY, was told
// "presumed abort" by the restarted coordinator; the client started TX1
// again, and the new run's PREPARE reached B before its ABORT was durable.
// B voted YES (still READY in memory), the new run committed, and B then
// aborted: one transfer applied on one side only.
func TestParticipantPrepareWhileAbortPending(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000"})
	prepared(t, p, "TX1", add("balance", -100))
	effs := p.Decision(coordID, abortMsg("TX1", "presumed abort: the coordinator has no record of it"))
	wantKinds(t, "Decision(ABORT)", effs, "persist forced ABORT TX1")
	abort := effs[0].(Persist).Rec

	// The same id again, before the ABORT is durable: no vote (not YES).
	m := prepareMsg("TX1", add("balance", -100))
	wantKinds(t, "Prepare while ABORT pending", p.Prepare(m))

	wantKinds(t, "Logged(ABORT)", p.Logged(abort), "send TC ACK TX1 ABORTED")
	// The retransmitted PREPARE, once the ABORT is durable: NO.
	wantKinds(t, "Prepare after the ABORT", p.Prepare(m), "send TC VOTE-NO TX1 (presumed abort: the coordinator has no record of it)")
	if l := p.Locked(); len(l) != 0 {
		t.Fatalf("locks after the abort: %v", l)
	}
	if got := mem(p).m["balance"]; got != "1000" {
		t.Fatalf("balance %s, want 1000", got)
	}
}
