package protocol

import (
	"errors"
	"slices"
	"testing"

	"github.com/txd/txd/wire"
)

// heldStore is a MemStore that says it already holds the commits up to
// seq, as a storage engine reopened after a restart does, and records the
// sequence of every commit handed to it.
type heldStore struct {
	*MemStore
	seq     uint64
	commits []uint64
}

func (s *heldStore) Seq() uint64 { return s.seq }
func (s *heldStore) Commit(seq uint64, w []wire.Op) {
	s.commits = append(s.commits, seq)
	s.MemStore.Commit(seq, w)
}

// commitTx runs tx through PREPARE and COMMIT with every record durable,
// and returns the records it logged.
func commitTx(t *testing.T, p *Participant, tx string, o ...wire.Op) []Record {
	t.Helper()
	var recs []Record
	logAll := func(effs []Effect) {
		for _, e := range effs {
			if ps, ok := e.(Persist); ok {
				recs = append(recs, ps.Rec)
				p.Logged(ps.Rec)
			}
		}
	}
	logAll(p.Prepare(prepareMsg(tx, o...)))
	logAll(p.Decision(coordID, &wire.Decision{TxID: tx, Commit: true}))
	return recs
}

// TestCommitsAreNumbered: every COMMIT record carries the next apply
// sequence number, and an abort takes none.
func TestCommitsAreNumbered(t *testing.T) {
	p := newPart(t, nil)
	var seqs []uint64
	for _, tx := range []string{"T1", "T2", "T3"} {
		for _, r := range commitTx(t, p, tx, add("n", 1)) {
			if r.Kind == RecCommit {
				seqs = append(seqs, r.Seq)
			}
		}
		p.Prepare(prepareMsg("A"+tx, set("x", "1")))
		p.Decision(coordID, &wire.Decision{TxID: "A" + tx})
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3}) {
		t.Fatalf("COMMIT sequence numbers %v, want 1 2 3", seqs)
	}
	if v, _, _ := p.store.Get("n"); v != "3" {
		t.Fatalf("n = %q, want 3", v)
	}
}

// TestReplaySkipsWhatTheStoreHolds: replayed over a store that holds the
// commits up to 2, the log applies only the third, and numbering goes on
// after the log's last.
func TestReplaySkipsWhatTheStoreHolds(t *testing.T) {
	p := newPart(t, nil)
	var log []Record
	for _, tx := range []string{"T1", "T2", "T3"} {
		log = append(log, commitTx(t, p, tx, add("n", 10))...)
	}
	held := &heldStore{MemStore: NewMemStore(), seq: 2}
	held.put("n", "20") // what T1 and T2 left
	q := NewParticipant(ParticipantConfig{NodeID: "B", Store: held})
	for _, r := range log {
		if err := q.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(held.commits, []uint64{3}) {
		t.Fatalf("commits applied on replay %v, want [3]", held.commits)
	}
	if v, _, _ := held.Get("n"); v != "30" {
		t.Fatalf("n = %q, want 30", v)
	}
	recs := commitTx(t, q, "T4", add("n", 1))
	if last := recs[len(recs)-1]; last.Kind != RecCommit || last.Seq != 4 {
		t.Fatalf("next commit %v seq %d, want COMMIT 4", last.Kind, last.Seq)
	}
}

// TestLegacyLog: a log written before commits were numbered replays into
// an empty store, numbering its STORE records and commits in order, and is
// refused over a store that holds data.
func TestLegacyLog(t *testing.T) {
	legacy := []Record{
		{Kind: RecStore, Ops: ops(set("n", "5"), set("k", "v"))},
		{Kind: RecPrepared, TxID: "T1", Protocol: wire.TwoPC, Ops: ops(add("n", 2)), Coord: coordID},
		{Kind: RecCommit, TxID: "T1", Protocol: wire.TwoPC},
		{Kind: RecCommit, TxID: "T0", Protocol: wire.TwoPC}, // a checkpoint's outcome alone
	}
	held := &heldStore{MemStore: NewMemStore()}
	p := NewParticipant(ParticipantConfig{NodeID: "B", Store: held})
	for _, r := range legacy {
		if err := p.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(held.commits, []uint64{1, 2}) {
		t.Fatalf("legacy commits numbered %v, want [1 2]", held.commits)
	}
	if v, _, _ := held.Get("n"); v != "7" {
		t.Fatalf("n = %q, want 7", v)
	}
	for _, c := range []struct {
		recs    []Record
		refused bool
	}{
		{legacy[:1], true},  // a STORE record
		{legacy[1:3], true}, // a commit with writes
		{legacy[3:], false}, // an outcome alone: nothing to apply
	} {
		q := NewParticipant(ParticipantConfig{NodeID: "B", Store: &heldStore{MemStore: NewMemStore(), seq: 9}})
		var err error
		for _, r := range c.recs {
			if err = q.Replay(r); err != nil {
				break
			}
		}
		if c.refused != errors.Is(err, ErrLegacyOverStore) {
			t.Errorf("legacy %v over a store at 9: %v", c.recs[len(c.recs)-1].Kind, err)
		}
	}
}

// TestHeuristicCommitIsNumbered: an operator's COMMIT takes its number
// when it is logged and reaches the store once durable; a commit settled
// meanwhile takes the next one.
func TestHeuristicCommitIsNumbered(t *testing.T) {
	held := &heldStore{MemStore: NewMemStore()}
	p := NewParticipant(ParticipantConfig{NodeID: "B", Timeout: askAfter, Store: held})
	for _, e := range p.Prepare(prepareMsg("T1", add("n", 5))) {
		if ps, ok := e.(Persist); ok {
			p.Logged(ps.Rec)
		}
	}
	var heur Record
	for _, e := range p.Resolve("op", &wire.Resolve{TxID: "T1", Commit: true}) {
		if ps, ok := e.(Persist); ok {
			heur = ps.Rec
		}
	}
	if heur.Kind != RecHeuristic || heur.Seq != 1 {
		t.Fatalf("heuristic record %v seq %d, want HEURISTIC 1", heur.Kind, heur.Seq)
	}
	recs := commitTx(t, p, "T2", set("m", "1"))
	if last := recs[len(recs)-1]; last.Seq != 2 {
		t.Fatalf("commit during the heuristic: seq %d, want 2", last.Seq)
	}
	p.Logged(heur)
	if !slices.Equal(held.commits, []uint64{2, 1}) {
		t.Fatalf("commits %v, want [2 1]", held.commits)
	}
	if v, _, _ := held.Get("n"); v != "5" {
		t.Fatalf("n = %q, want 5", v)
	}
}

// TestNoStoreShadow: a replay-only model over NoStore takes a log whose
// ADDs it cannot resolve (it holds no data) without error, keeps every
// commit's number for its checkpoint, and writes no STORE record.
func TestNoStoreShadow(t *testing.T) {
	p := newPart(t, map[string]string{"n": "10"})
	log := commitTx(t, p, "T1", add("n", -10))
	shadow := NewParticipant(ParticipantConfig{NodeID: "B", Store: NoStore{}})
	for _, r := range log {
		if err := shadow.Replay(r); err != nil {
			t.Fatalf("replay %v: %v", r.Kind, err)
		}
	}
	snap := shadow.Snapshot()
	if len(snap) != 1 || snap[0].Kind != RecCommit || snap[0].Seq != 1 {
		t.Fatalf("snapshot %+v, want the COMMIT of T1 alone, numbered 1", snap)
	}
}
