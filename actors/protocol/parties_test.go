package protocol

import (
	"slices"
	"testing"

	"github.com/txd/txd/wire"
)

// TestParties: a transaction's coordinator and members are known from its
// PREPARE, also after a replay; one first heard of through a query is not.
func TestParties(t *testing.T) {
	p := newPart(t, nil)
	p.Prepare(prepareMsg("T1", wire.Op{Kind: wire.OpSet, Key: "k", Value: "v"}))
	p.Query(&wire.Query{TxID: "T2", From: "C"}) // never prepared here
	coord, members, known := p.Parties("T1")
	if !known || coord != coordID || len(members) != 2 {
		t.Fatalf("T1: %q %v %v", coord, members, known)
	}
	if _, _, known := p.Parties("T2"); known {
		t.Fatal("T2 has no PREPARE here, yet its parties are known")
	}
	if _, _, known := p.Parties("T3"); known {
		t.Fatal("T3 was never heard of, yet its parties are known")
	}
	if got := p.Peers(); !slices.Equal(got, []string{"C"}) {
		t.Fatalf("peers %v, want [C]", got)
	}

	r := newPart(t, nil)
	if err := r.Replay(Record{Kind: RecPrepared, TxID: "T1", Protocol: wire.TwoPC, Coord: coordID,
		Members: []wire.Member{{ID: "B"}, {ID: "C"}, {ID: "D"}}}); err != nil {
		t.Fatal(err)
	}
	if coord, _, known := r.Parties("T1"); !known || coord != coordID {
		t.Fatalf("replayed T1: %q %v", coord, known)
	}
	got := r.Peers()
	slices.Sort(got)
	if !slices.Equal(got, []string{"C", "D"}) {
		t.Fatalf("replayed peers %v, want [C D]", got)
	}
}
