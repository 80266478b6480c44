package protocol

import (
	"testing"

	"github.com/txd/txd/wire"
)

// A checkpoint keeps each record's append time (a trace after a restart
// shows when the records were written, even once the log was compacted).
// The records go through Replay, as in the WAL writer's model of the log.
func TestSnapshotKeepsRecordTimes(t *testing.T) {
	ms := []wire.Member{{ID: "B", Addr: "b:1"}}
	p := NewParticipant(ParticipantConfig{NodeID: "B"})
	in := []Record{
		{Kind: RecPrepared, TxID: "c", Protocol: wire.ThreePC, Members: ms, Ops: []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "1"}}, Time: 10},
		{Kind: RecPreCommit, TxID: "c", Protocol: wire.ThreePC, Time: 11},
		{Kind: RecPrepared, TxID: "pc", Protocol: wire.ThreePC, Members: ms, Time: 20},
		{Kind: RecPreCommit, TxID: "pc", Protocol: wire.ThreePC, Time: 21},
		{Kind: RecCommit, TxID: "c", Protocol: wire.ThreePC, Time: 12},
		{Kind: RecAbort, TxID: "a", Protocol: wire.TwoPC, Reason: "no", Time: 30},
		{Kind: RecPrepared, TxID: "r", Protocol: wire.TwoPC, Members: ms, Time: 40},
	}
	for _, r := range in {
		if err := p.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int64{}
	for _, r := range p.Snapshot() {
		if r.Kind != RecStore {
			got[r.Kind.String()+" "+r.TxID] = r.Time
		}
	}
	want := map[string]int64{"COMMIT c": 12, "PREPARED pc": 20, "PRECOMMIT pc": 21, "ABORT a": 30, "PREPARED r": 40}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("participant snapshot %s: time %d, want %d (all: %v)", k, got[k], v, got)
		}
	}

	l := NewCoordLog(10)
	for _, r := range []Record{
		{Kind: RecBegin, TxID: "x", Protocol: wire.ThreePC, Members: ms, Time: 1},
		{Kind: RecPreCommit, TxID: "x", Protocol: wire.ThreePC, Time: 2},
		{Kind: RecDecision, TxID: "x", Protocol: wire.ThreePC, Commit: true, Time: 3},
		{Kind: RecEnd, TxID: "x", Time: 4},
	} {
		if err := l.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	snap := l.Snapshot()
	if len(snap) != 4 {
		t.Fatalf("coordinator snapshot has %d records, want 4: %+v", len(snap), snap)
	}
	for i, r := range snap {
		if r.Time != int64(i+1) {
			t.Errorf("coordinator snapshot %v: time %d, want %d", r.Kind, r.Time, i+1)
		}
	}
}
