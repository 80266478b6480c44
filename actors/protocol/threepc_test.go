package protocol

import (
	"fmt"
	"maps"
	"testing"

	"github.com/txd/txd/wire"
)

// 3PC: direct tests of a Participant's PRE-COMMIT handling and of its
// replay. The end-to-end runs are package sim's.

func newPartAs(t *testing.T, id string, seed map[string]string) *Participant {
	t.Helper()
	p := NewParticipant(ParticipantConfig{NodeID: id, Timeout: askAfter})
	for k, v := range seed {
		mem(p).put(k, v)
	}
	return p
}

func prepare3(tx string, members []string, o ...wire.Op) *wire.Prepare {
	ms := make([]wire.Member, len(members))
	for i, id := range members {
		ms[i] = wire.Member{ID: id, Addr: addrOf(id)}
	}
	return &wire.Prepare{TxID: tx, Protocol: wire.ThreePC, Ops: o, Coord: coordID, CoordAddr: coordAddr, Members: ms}
}

// prepared3 makes p READY on a 3PC transaction with the given members.
func prepared3(t *testing.T, p *Participant, tx string, members []string, o ...wire.Op) Record {
	t.Helper()
	effs := p.Prepare(prepare3(tx, members, o...))
	wantKinds(t, "Prepare", effs, "persist forced PREPARED "+tx)
	rec := effs[0].(Persist).Rec
	if rec.Protocol != wire.ThreePC {
		t.Fatalf("PREPARED %+v", rec)
	}
	wantKinds(t, "Logged(PREPARED)", p.Logged(rec), "send TC VOTE-YES "+tx, "timer "+tx+" #1")
	return rec
}

// precommitted3 makes p PRECOMMITTED on tx through the coordinator's
// PRE-COMMIT.
func precommitted3(t *testing.T, p *Participant, tx string) {
	t.Helper()
	effs := p.PreCommit(coordID, &wire.PreCommit{TxID: tx})
	wantKinds(t, "PreCommit", effs, "persist forced PRECOMMIT "+tx)
	p.Logged(effs[0].(Persist).Rec)
	if st := p.txns[tx].state; st != wire.StatePrecommitted {
		t.Fatalf("state %q after PRE-COMMIT", st)
	}
}

func TestParticipantPreCommit(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("then commit=%v", commit), func(t *testing.T) {
			p := newPartAs(t, "B", map[string]string{"balance": "1000"})
			m := prepare3("TX1", []string{"B", "C"}, add("balance", -100))
			prepared3(t, p, "TX1", []string{"B", "C"}, add("balance", -100))

			effs := p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"})
			wantKinds(t, "PreCommit", effs, "persist forced PRECOMMIT TX1")
			rec := effs[0].(Persist).Rec
			if rec.TxID != "TX1" || rec.Protocol != wire.ThreePC {
				t.Fatalf("PRECOMMIT record %+v", rec)
			}
			// While it is being written: no second record, no ack, and the
			// durable state (READY) is what a peer is told.
			wantKinds(t, "duplicate while pending", p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"}))
			wantKinds(t, "timer while pending", p.Timer("TX1", 1))
			if st := queryState(t, p, "TX1"); st != wire.StateReady {
				t.Fatalf("Query while PRECOMMIT pending = %q", st)
			}
			wantKinds(t, "Logged(PREPARED) again", p.Logged(Record{Kind: RecPrepared, TxID: "TX1"}))

			// Durable: ack PRECOMMITTED to the sender, and a new timer.
			effs = p.Logged(rec)
			wantKinds(t, "Logged(PRECOMMIT)", effs, "timer TX1 #2", "send TC ACK TX1 PRECOMMITTED")
			if s := effs[1].(Send); s.Addr != coordAddr || s.Msg.(*wire.Ack).From != "B" {
				t.Fatalf("ack %+v", s)
			}
			wantKinds(t, "Logged(PRECOMMIT) again", p.Logged(rec))
			if st := queryState(t, p, "TX1"); st != wire.StatePrecommitted {
				t.Fatalf("Query = %q", st)
			}
			if _, txs := p.Status(); len(txs) != 1 || txs[0].State != wire.StatePrecommitted || txs[0].Protocol != wire.ThreePC {
				t.Fatalf("status %+v", txs)
			}
			if l := p.Locked(); len(l) != 1 {
				t.Fatalf("locks %v", l)
			}
			if store, _ := p.Status(); store["balance"] != "1000" {
				t.Fatal("applied at PRE-COMMIT")
			}
			// A duplicate PRE-COMMIT is acked again; a duplicate CAN-COMMIT
			// gets the YES again.
			wantKinds(t, "duplicate PRE-COMMIT", p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"}),
				"send TC ACK TX1 PRECOMMITTED")
			wantKinds(t, "duplicate CAN-COMMIT", p.Prepare(m), "send TC VOTE-YES TX1")
			wantKinds(t, "old timer", p.Timer("TX1", 1))

			effs = p.Decision(coordID, &wire.Decision{TxID: "TX1", Commit: commit, Reason: "why"})
			want, bal := "ABORT", "1000"
			final := wire.StateAborted
			if commit {
				want, bal, final = "COMMIT", "900", wire.StateCommitted
			}
			wantKinds(t, "Decision", effs, "persist forced "+want+" TX1")
			wantKinds(t, "PRE-COMMIT while the outcome is pending", p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"}))
			wantKinds(t, "Logged", p.Logged(effs[0].(Persist).Rec), "send TC ACK TX1 "+string(final))
			if store, _ := p.Status(); store["balance"] != bal {
				t.Fatalf("store %v", store)
			}
			p.noLocksT(t)
			// Decided: a PRE-COMMIT is answered with the final state.
			wantKinds(t, "PRE-COMMIT after the outcome", p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"}),
				"send TC ACK TX1 "+string(final))
			wantKinds(t, "timer after the outcome", p.Timer("TX1", 2))
		})
	}

	t.Run("unknown, not prepared, or NO voter", func(t *testing.T) {
		p := newPartAs(t, "B", map[string]string{"k": "1"})
		wantKinds(t, "unknown", p.PreCommit(coordID, &wire.PreCommit{TxID: "NONE"}))
		if len(p.txns) != 0 {
			t.Fatal("PRE-COMMIT for an unknown transaction created state")
		}
		// PREPARED not durable: never voted, cannot be asked to pre-commit.
		p.Prepare(prepare3("PEND", []string{"B"}, set("p", "1")))
		wantKinds(t, "PREPARED pending", p.PreCommit(coordID, &wire.PreCommit{TxID: "PEND"}))
		// A NO voter (a stale or forged PRE-COMMIT): says ABORTED.
		p.Prepare(prepare3("NO", []string{"B"}, add("k", -5)))
		wantKinds(t, "NO voter", p.PreCommit(coordID, &wire.PreCommit{TxID: "NO"}), "send TC ACK NO ABORTED")
	})

	t.Run("from a termination leader", func(t *testing.T) {
		p := newPartAs(t, "B", nil)
		prepared3(t, p, "TX1", abc, set("k", "v"))
		effs := p.PreCommit("A", &wire.PreCommit{TxID: "TX1"})
		wantKinds(t, "PreCommit from A", effs, "persist forced PRECOMMIT TX1")
		effs = p.Logged(effs[0].(Persist).Rec)
		wantKinds(t, "Logged", effs, "timer TX1 #2", "send A ACK TX1 PRECOMMITTED")
		// Again from C: acked to C.
		wantKinds(t, "from C", p.PreCommit("C", &wire.PreCommit{TxID: "TX1"}), "send C ACK TX1 PRECOMMITTED")
	})

	t.Run("an outcome overtakes PRECOMMIT", func(t *testing.T) {
		p := newPartAs(t, "B", nil)
		prepared3(t, p, "TX1", []string{"B", "C"}, set("k", "v"))
		prec := p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"})[0].(Persist).Rec
		arec := p.Decision("C", &wire.Decision{TxID: "TX1", Reason: "termination"})[0].(Persist).Rec
		wantKinds(t, "Logged(PRECOMMIT)", p.Logged(prec))
		wantKinds(t, "Logged(ABORT)", p.Logged(arec), "send TC ACK TX1 ABORTED")
		if st := queryState(t, p, "TX1"); st != wire.StateAborted {
			t.Fatalf("state %q", st)
		}
	})
}

func TestParticipantReplay3PC(t *testing.T) {
	prep := func(tx string, o ...wire.Op) Record {
		return Record{Kind: RecPrepared, TxID: tx, Protocol: wire.ThreePC, Ops: o, Coord: coordID,
			CoordAddr: coordAddr, Members: []wire.Member{{ID: "B", Addr: addrOf("B")}, {ID: "C", Addr: addrOf("C")}}}
	}
	pre := func(tx string) Record { return Record{Kind: RecPreCommit, TxID: tx, Protocol: wire.ThreePC} }
	commit := func(tx string) Record { return Record{Kind: RecCommit, TxID: tx, Protocol: wire.ThreePC} }
	abort := func(tx string) Record { return Record{Kind: RecAbort, TxID: tx, Protocol: wire.ThreePC} }
	tests := []struct {
		name      string
		log       []Record
		store     map[string]string
		state     wire.State
		locked    bool
		recovered []string
	}{
		{"precommitted", []Record{prep("T1", set("k", "1")), pre("T1")}, map[string]string{},
			wire.StatePrecommitted, true, []string{"send TC QUERY T1", "timer T1 #1"}},
		{"PRECOMMIT twice", []Record{prep("T1", set("k", "1")), pre("T1"), pre("T1")}, map[string]string{},
			wire.StatePrecommitted, true, []string{"send TC QUERY T1", "timer T1 #1"}},
		{"precommitted then committed", []Record{prep("T1", add("k", 2)), pre("T1"), commit("T1")},
			map[string]string{"k": "2"}, wire.StateCommitted, false, nil},
		{"precommitted then aborted", []Record{prep("T1", add("k", 2)), pre("T1"), abort("T1")},
			map[string]string{}, wire.StateAborted, false, nil},
		{"PRECOMMIT after ABORT changes nothing", []Record{prep("T1", add("k", 2)), abort("T1"), pre("T1")},
			map[string]string{}, wire.StateAborted, false, nil},
		{"PRECOMMIT after COMMIT changes nothing", []Record{prep("T1", add("k", 2)), commit("T1"), pre("T1")},
			map[string]string{"k": "2"}, wire.StateCommitted, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPartAs(t, "B", nil)
			for _, r := range tc.log {
				if err := p.Replay(r); err != nil {
					t.Fatal(err)
				}
			}
			if store, _ := p.Status(); !maps.Equal(store, tc.store) {
				t.Fatalf("store %v, want %v", store, tc.store)
			}
			if st := queryState(t, p, "T1"); st != tc.state {
				t.Fatalf("state %q, want %q", st, tc.state)
			}
			if l := p.Locked(); (len(l) > 0) != tc.locked {
				t.Fatalf("locks %v", l)
			}
			wantKinds(t, "Recovered", p.Recovered(), tc.recovered...)
		})
	}
	t.Run("PRECOMMIT alone is ignored", func(t *testing.T) {
		p := newPartAs(t, "B", nil)
		if err := p.Replay(pre("T1")); err != nil {
			t.Fatal(err)
		}
		if len(p.txns) != 0 {
			t.Fatal("PRECOMMIT without PREPARED created state")
		}
	})
	t.Run("recovered PRECOMMITTED then DO-COMMIT", func(t *testing.T) {
		p := newPartAs(t, "B", nil)
		for _, r := range []Record{prep("T1", add("k", 2)), pre("T1")} {
			if err := p.Replay(r); err != nil {
				t.Fatal(err)
			}
		}
		p.Recovered()
		effs := p.Decision(coordID, &wire.Decision{TxID: "T1", Commit: true})
		wantKinds(t, "DO-COMMIT", effs, "persist forced COMMIT T1")
		wantKinds(t, "Logged", p.Logged(effs[0].(Persist).Rec), "send TC ACK T1 COMMITTED")
		if store, _ := p.Status(); store["k"] != "2" {
			t.Fatalf("store %v", store)
		}
	})
}
