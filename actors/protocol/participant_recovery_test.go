package protocol

import (
	"maps"
	"slices"
	"testing"

	"github.com/txd/txd/wire"
)

// A participant rebuilt from its log: what it holds, and what it does next.

func TestParticipantReplay(t *testing.T) {
	prep := func(tx string, o ...wire.Op) Record {
		return Record{Kind: RecPrepared, TxID: tx, Protocol: wire.TwoPC, Ops: o, Coord: coordID, CoordAddr: coordAddr}
	}
	commit := func(tx string) Record { return Record{Kind: RecCommit, TxID: tx, Protocol: wire.TwoPC} }
	abort := func(tx string) Record { return Record{Kind: RecAbort, TxID: tx, Protocol: wire.TwoPC, Reason: "why"} }
	tests := []struct {
		name      string
		log       []Record
		store     map[string]string
		states    map[string]wire.State
		locks     [][2]string
		recovered []string
	}{
		{"empty", nil, map[string]string{}, nil, [][2]string{}, nil},
		{"committed", []Record{prep("T1", set("k", "10")), commit("T1")},
			map[string]string{"k": "10"}, map[string]wire.State{"T1": wire.StateCommitted}, [][2]string{}, nil},
		{"committed ops applied once", []Record{prep("T0", set("k", "10")), commit("T0"),
			prep("T1", add("k", 5)), commit("T1"), commit("T1")},
			map[string]string{"k": "15"}, map[string]wire.State{"T1": wire.StateCommitted}, [][2]string{}, nil},
		{"PREPARED logged twice", []Record{prep("T1", add("k", 5)), prep("T1", add("k", 5)), commit("T1")},
			map[string]string{"k": "5"}, nil, [][2]string{}, nil},
		{"in doubt", []Record{prep("T1", add("k", 5), set("j", "x"))},
			map[string]string{}, map[string]wire.State{"T1": wire.StateReady},
			[][2]string{{"j", "T1"}, {"k", "T1"}}, []string{"send TC QUERY T1", "timer T1 #1"}},
		{"aborted", []Record{prep("T1", add("k", 5)), abort("T1")},
			map[string]string{}, map[string]wire.State{"T1": wire.StateAborted}, [][2]string{}, nil},
		{"abort after commit is ignored", []Record{prep("T1", set("k", "1")), commit("T1"), abort("T1")},
			map[string]string{"k": "1"}, map[string]wire.State{"T1": wire.StateCommitted}, [][2]string{}, nil},
		{"lazy abort of a NO vote", []Record{abort("T1")},
			map[string]string{}, map[string]wire.State{"T1": wire.StateAborted}, [][2]string{}, nil},
		{"several in doubt, in log order", []Record{prep("T2", set("b", "1")), prep("T1", set("a", "1")),
			prep("T3", set("c", "1")), commit("T3")},
			map[string]string{"c": "1"}, map[string]wire.State{"T1": wire.StateReady, "T2": wire.StateReady},
			[][2]string{{"a", "T1"}, {"b", "T2"}},
			[]string{"send TC QUERY T2", "timer T2 #1", "send TC QUERY T1", "timer T1 #1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPart(t, nil)
			for _, r := range tc.log {
				if err := p.Replay(r); err != nil {
					t.Fatal(err)
				}
			}
			if store, _ := p.Status(); !maps.Equal(store, tc.store) {
				t.Fatalf("store %v, want %v", store, tc.store)
			}
			for tx, want := range tc.states {
				if got := queryState(t, p, tx); got != want {
					t.Fatalf("%s: %q, want %q", tx, got, want)
				}
			}
			if l := p.Locked(); !slices.Equal(l, tc.locks) {
				t.Fatalf("locks %v, want %v", l, tc.locks)
			}
			effs := p.Recovered()
			wantKinds(t, "Recovered", effs, tc.recovered...)
			for _, s := range sends(effs) {
				if s.Addr != coordAddr {
					t.Fatalf("query to addr %q", s.Addr)
				}
			}
		})
	}

	t.Run("unexpected records", func(t *testing.T) {
		for _, k := range []RecKind{0, RecBegin, RecDecision, RecEnd, 99} {
			if err := newPart(t, nil).Replay(Record{Kind: k, TxID: "T1"}); err == nil {
				t.Errorf("Replay accepted a %v record", k)
			}
		}
	})
}

// A participant rebuilt while READY answers its coordinator's decision.
func TestParticipantRecoveredThenDecided(t *testing.T) {
	for _, commit := range []bool{true, false} {
		p := newPart(t, nil)
		for _, r := range []Record{
			{Kind: RecPrepared, TxID: "S", Ops: ops(set("balance", "1000")), Coord: coordID},
			{Kind: RecCommit, TxID: "S"},
			{Kind: RecPrepared, TxID: "T1", Ops: ops(add("balance", -100)), Coord: coordID, CoordAddr: coordAddr},
		} {
			if err := p.Replay(r); err != nil {
				t.Fatal(err)
			}
		}
		wantKinds(t, "Recovered", p.Recovered(), "send TC QUERY T1", "timer T1 #1")
		if r := reasonOf(p.Prepare(prepareMsg("T2", add("balance", 1)))); r != "key balance is locked by T1" {
			t.Fatalf("in-doubt key not locked: %q", r)
		}
		wantKinds(t, "duplicate PREPARE", p.Prepare(prepareMsg("T1", add("balance", -100))), "send TC VOTE-YES T1")
		wantKinds(t, "Timer", p.Timer("T1", 1), "send TC QUERY T1", "timer T1 #2")
		effs := p.Decision(coordID, &wire.Decision{TxID: "T1", Commit: commit})
		if len(effs) != 1 || !effs[0].(Persist).Force {
			t.Fatalf("decision effects %q", kinds(effs))
		}
		ack := p.Logged(effs[0].(Persist).Rec)
		want, bal := wire.StateAborted, "1000"
		if commit {
			want, bal = wire.StateCommitted, "900"
		}
		wantKinds(t, "Logged", ack, "send TC ACK T1 "+string(want))
		if s := ack[0].(Send); s.Addr != coordAddr {
			t.Fatalf("ack addr %q", s.Addr)
		}
		if store, _ := p.Status(); store["balance"] != bal {
			t.Fatalf("balance %s, want %s", store["balance"], bal)
		}
		p.noLocksT(t)
		wantKinds(t, "old timer", p.Timer("T1", 2))
	}
}
