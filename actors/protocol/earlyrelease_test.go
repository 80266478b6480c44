package protocol

import (
	"testing"

	"github.com/txd/txd/wire"
)

// TestParticipantEarlyLockRelease: T1's COMMIT releases its lock when it is
// logged, before it is durable, so T2 on the same key prepares at once. The
// log is written in order, so what a crash can leave is a prefix of the
// records as the machine emitted them; replaying every prefix must give a
// state in which T2 is never prepared over a T1 that is not committed, and
// T2 never voted YES unless its PREPARED (and so T1's COMMIT) was durable.
func TestParticipantEarlyLockRelease(t *testing.T) {
	p := newPart(t, map[string]string{"k": "10"})
	var log []Record
	persist := func(effs []Effect) {
		for _, e := range effs {
			if ps, ok := e.(Persist); ok {
				log = append(log, ps.Rec)
			}
		}
	}
	m1 := prepareMsg("T1", add("k", 5))
	effs := p.Prepare(m1)
	persist(effs)
	p.Logged(effs[0].(Persist).Rec)

	effs = p.Decision(coordID, commitMsg("T1"))
	persist(effs)
	commitRec := effs[0].(Persist).Rec

	// T1's COMMIT is not durable yet; T2 on the same key is not refused.
	effs = p.Prepare(prepareMsg("T2", add("k", -12)))
	wantKinds(t, "T2 prepares behind T1's logged COMMIT", effs, "persist forced PREPARED T2")
	persist(effs)
	if store, _ := p.Status(); store["k"] != "15" {
		t.Fatalf("store %v: T2 must see T1's value", store)
	}
	// T1's ack waits for its record; T2's vote waits for its own.
	wantKinds(t, "T1 durable", p.Logged(commitRec), "send TC ACK T1 COMMITTED")

	for n := 0; n <= len(log); n++ {
		r := newPart(t, map[string]string{"k": "10"})
		for _, rec := range log[:n] {
			if err := r.Replay(rec); err != nil {
				t.Fatal(err)
			}
		}
		store, txs := r.Status()
		state := func(id string) wire.State {
			for _, tx := range txs {
				if tx.TxID == id {
					return tx.State
				}
			}
			return ""
		}
		t1, t2 := state("T1"), state("T2")
		switch {
		case t2 == wire.StateReady && t1 != wire.StateCommitted:
			t.Fatalf("prefix %d: T2 prepared over T1 %s", n, t1)
		case t1 == wire.StateCommitted && store["k"] != "15":
			t.Fatalf("prefix %d: T1 committed, store %v", n, store)
		case t1 == wire.StateReady && store["k"] != "10":
			t.Fatalf("prefix %d: T1 in doubt, store %v", n, store)
		}
	}
}
