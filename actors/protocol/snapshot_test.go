package protocol

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/txd/txd/wire"
)

// A participant's snapshot replays to the same participant: store, locks,
// every transaction's state, including records still pending in the log.
func TestParticipantSnapshotReplays(t *testing.T) {
	p := NewParticipant(ParticipantConfig{NodeID: "B"})
	prep := func(id string, ops ...wire.Op) {
		p.Prepare(&wire.Prepare{TxID: id, Protocol: wire.ThreePC, Ops: ops, Coord: "C0", CoordAddr: "h:1",
			Members: []wire.Member{{ID: "B", Addr: "h:2"}}})
	}
	set := func(k, v string) wire.Op { return wire.Op{Kind: wire.OpSet, Key: k, Value: v} }
	durable := func(kind RecKind, id string) { p.Logged(Record{Kind: kind, TxID: id}) }

	prep("committed", set("a", "1"))
	durable(RecPrepared, "committed")
	p.Decision("C0", &wire.Decision{TxID: "committed", Commit: true})
	durable(RecCommit, "committed")

	prep("aborted", set("b", "1"))
	durable(RecPrepared, "aborted")
	p.Decision("C0", &wire.Decision{TxID: "aborted", Reason: "no"})
	durable(RecAbort, "aborted")

	prep("ready", set("c", "1"))
	durable(RecPrepared, "ready")

	prep("precommitted", set("d", "1"))
	durable(RecPrepared, "precommitted")
	p.PreCommit("C0", &wire.PreCommit{TxID: "precommitted"})
	durable(RecPreCommit, "precommitted")

	prep("pending-prepare", set("e", "1")) // PREPARED handed to the log, not durable

	prep("pending-commit", set("f", "1"))
	durable(RecPrepared, "pending-commit")
	p.Decision("C0", &wire.Decision{TxID: "pending-commit", Commit: true}) // COMMIT not durable

	prep("pending-precommit", set("g", "1"))
	durable(RecPrepared, "pending-precommit")
	p.PreCommit("C0", &wire.PreCommit{TxID: "pending-precommit"}) // PRECOMMIT not durable

	p.Prepare(&wire.Prepare{TxID: "no-vote", Ops: []wire.Op{{Kind: wire.OpAdd, Key: "z", Delta: -5}}, Coord: "C0"})

	q := NewParticipant(ParticipantConfig{NodeID: "B"})
	for _, r := range p.Snapshot() {
		if err := q.Replay(r); err != nil {
			t.Fatalf("replay %v %s: %v", r.Kind, r.TxID, err)
		}
	}
	// What replay of the full log would give: pending records count as
	// written (the snapshot replaces them), so apply them to p the way
	// replay would before comparing.
	full := NewParticipant(ParticipantConfig{NodeID: "B"})
	for _, r := range []Record{
		{Kind: RecPrepared, TxID: "committed", Ops: []wire.Op{set("a", "1")}}, {Kind: RecCommit, TxID: "committed"},
		{Kind: RecPrepared, TxID: "aborted", Ops: []wire.Op{set("b", "1")}}, {Kind: RecAbort, TxID: "aborted", Reason: "no"},
		{Kind: RecPrepared, TxID: "ready", Ops: []wire.Op{set("c", "1")}},
		{Kind: RecPrepared, TxID: "precommitted", Ops: []wire.Op{set("d", "1")}}, {Kind: RecPreCommit, TxID: "precommitted"},
		{Kind: RecPrepared, TxID: "pending-prepare", Ops: []wire.Op{set("e", "1")}},
		{Kind: RecPrepared, TxID: "pending-commit", Ops: []wire.Op{set("f", "1")}}, {Kind: RecCommit, TxID: "pending-commit"},
		{Kind: RecPrepared, TxID: "pending-precommit", Ops: []wire.Op{set("g", "1")}}, {Kind: RecPreCommit, TxID: "pending-precommit"},
		{Kind: RecAbort, TxID: "no-vote", Reason: "z would be -5"},
	} {
		r.Protocol = wire.ThreePC
		if err := full.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	gotStore, gotTxs := q.Status()
	wantStore, wantTxs := full.Status()
	if !reflect.DeepEqual(gotStore, wantStore) {
		t.Errorf("store %v, want %v", gotStore, wantStore)
	}
	states := func(txs []wire.TxStatus) map[string]wire.State {
		m := map[string]wire.State{}
		for _, s := range txs {
			m[s.TxID] = s.State
		}
		return m
	}
	if got, want := states(gotTxs), states(wantTxs); !reflect.DeepEqual(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	if got, want := q.Locked(), full.Locked(); !reflect.DeepEqual(got, want) {
		t.Errorf("locks %v, want %v", got, want)
	}
}

// Forgetting drops only finished transactions, keeps answering queries
// about them truthfully, and keeps them out of the next snapshot.
func TestParticipantForget(t *testing.T) {
	p := NewParticipant(ParticipantConfig{NodeID: "B"})
	for _, id := range []string{"T1", "T2"} {
		p.Prepare(&wire.Prepare{TxID: id, Ops: []wire.Op{{Kind: wire.OpSet, Key: id, Value: "v"}}, Coord: "C0"})
		p.Logged(Record{Kind: RecPrepared, TxID: id})
	}
	p.Decision("C0", &wire.Decision{TxID: "T1", Commit: true})
	p.Logged(Record{Kind: RecCommit, TxID: "T1"})
	eff := p.Forget([]string{"T1", "T2", "nope"})
	if len(eff) != 1 {
		t.Fatalf("Forget effects %v, want one FORGET record (T1 only: T2 is in doubt)", eff)
	}
	if p.txns["T1"] != nil || p.txns["T2"] == nil {
		t.Fatal("T1 must be dropped, T2 kept")
	}
	reply := p.Query(&wire.Query{TxID: "T1", From: "C"})
	if len(reply) != 1 || reply[0].(Send).Msg.(*wire.QueryReply).State != wire.StateCommitted {
		t.Fatalf("query about forgotten T1: %v, want COMMITTED", reply)
	}
	for _, r := range p.Snapshot() {
		if r.TxID == "T1" {
			t.Fatalf("forgotten T1 in the snapshot: %+v", r)
		}
	}
	if _, txs := p.Status(); len(txs) != 2 {
		t.Fatalf("status lists %d transactions, want 2 (T1 from history, T2)", len(txs))
	}
}

// The coordinator's log model: a snapshot replays to the same model, and
// ended transactions beyond the window are forgotten, never unended ones.
func TestCoordLogSnapshotAndWindow(t *testing.T) {
	l := NewCoordLog(4)
	ms := []wire.Member{{ID: "B", Addr: "b:1"}}
	for i := 0; i < 20; i++ {
		id := string(rune('a' + i))
		l.Apply(Record{Kind: RecBegin, TxID: id, Protocol: wire.TwoPC, Members: ms})
		if i%5 == 4 {
			continue // left open: never forgotten
		}
		l.Apply(Record{Kind: RecDecision, TxID: id, Commit: i%2 == 0})
		l.Apply(Record{Kind: RecEnd, TxID: id})
	}
	open, ended := 0, 0
	for _, t := range l.All() {
		if t.Ended {
			ended++
		} else {
			open++
		}
	}
	if open != 4 || ended > 5 || ended < 4 {
		t.Fatalf("open %d ended %d, want 4 open and the window (4, up to a quarter more) ended", open, ended)
	}
	m := NewCoordLog(4)
	for _, r := range l.Snapshot() {
		if err := m.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(m.All(), l.All()) {
		t.Fatalf("snapshot replays to %+v, want %+v", m.All(), l.All())
	}
}

// A timer that fires late (we were paused) must not end the round it
// belongs to with a decision: the silence it saw may have been our own.
// It starts afresh: only the coordinator is asked, and the peer round is
// dropped.
func TestTimerLateDropsTheRound(t *testing.T) {
	ms := []wire.Member{{ID: "A"}, {ID: "B"}}
	// start makes A READY and runs two silent ticks: the coordinator is
	// asked, then (silent) the peers too. It returns the next timer's seq.
	start := func() (*Participant, uint64) {
		p := NewParticipant(ParticipantConfig{NodeID: "A"})
		p.Prepare(&wire.Prepare{TxID: "T", Protocol: wire.ThreePC, Ops: []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}}, Coord: "C0", Members: ms})
		eff := p.Logged(Record{Kind: RecPrepared, TxID: "T"})
		seq := eff[len(eff)-1].(SetTimer).Seq
		eff = p.Timer("T", seq) // tick 1: the coordinator is asked
		seq = eff[len(eff)-1].(SetTimer).Seq
		eff = p.Timer("T", seq) // tick 2: it was silent; the peer round opens
		if !p.txns["T"].roundOpen {
			t.Fatalf("no peer round open after two silent ticks: %q", kinds(eff))
		}
		return p, eff[len(eff)-1].(SetTimer).Seq
	}
	// Nobody answered; on time, A (lowest id, alone, READY) aborts.
	p, seq := start()
	if eff := p.Timer("T", seq); len(persists(eff)) != 1 || persists(eff)[0].Rec.Kind != RecAbort {
		t.Fatalf("on time: %q, want an ABORT", kinds(eff))
	}
	// Late: no decision; a fresh start that asks only the coordinator.
	p, seq = start()
	eff := p.TimerLate("T", seq)
	for _, e := range eff {
		if per, ok := e.(Persist); ok {
			t.Fatalf("a late timer decided: %+v", per)
		}
	}
	if got, want := kinds(eff), []string{"send C0 QUERY T", fmt.Sprintf("timer T #%d", seq+1)}; !slices.Equal(got, want) {
		t.Fatalf("late timer: %q, want %q", got, want)
	}
	if tx := p.txns["T"]; tx.state != wire.StateReady || tx.roundOpen || !tx.asked {
		t.Fatalf("want still READY, the coordinator asked and no peer round open")
	}
	// Then as from the start: a silent tick asks the peers, the next leads.
	eff = p.Timer("T", seq+1)
	if got, want := kinds(eff), []string{"send C0 QUERY T", "send B QUERY T", fmt.Sprintf("timer T #%d", seq+2)}; !slices.Equal(got, want) {
		t.Fatalf("after the late timer: %q, want %q", got, want)
	}
	if eff = p.Timer("T", seq+2); len(persists(eff)) != 1 || persists(eff)[0].Rec.Kind != RecAbort {
		t.Fatalf("after the late timer, silent: %q, want an ABORT", kinds(eff))
	}
}

// A Forget that arrives while our outcome is still being logged (an ABORT
// overtook our own PREPARED) takes effect once it is durable; a decision
// retransmitted after the Forget is acknowledged without bringing the
// transaction back, and a late PREPARE for it votes NO.
func TestForgetWhileOutcomePending(t *testing.T) {
	p := NewParticipant(ParticipantConfig{NodeID: "B"})
	p.Prepare(&wire.Prepare{TxID: "T", Ops: []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}}, Coord: "C0"})
	p.Decision("C0", &wire.Decision{TxID: "T", Reason: "C said no"})
	if eff := p.Forget([]string{"T"}); len(eff) != 0 || p.txns["T"] == nil {
		t.Fatalf("forgot a transaction whose outcome is not durable: %v", eff)
	}
	p.Logged(Record{Kind: RecPrepared, TxID: "T"})
	eff := p.Logged(Record{Kind: RecAbort, TxID: "T"})
	forgot := false
	for _, e := range eff {
		if per, ok := e.(Persist); ok && per.Rec.Kind == RecForget {
			forgot = true
		}
	}
	if !forgot || p.txns["T"] != nil {
		t.Fatalf("after the ABORT is durable: effects %v, still known %v; want it forgotten", eff, p.txns["T"] != nil)
	}
	if len(p.Locked()) != 0 {
		t.Fatalf("locks left: %v", p.Locked())
	}
	eff = p.Decision("C0", &wire.Decision{TxID: "T"})
	if len(eff) != 1 || eff[0].(Send).Msg.(*wire.Ack).State != wire.StateAborted || p.txns["T"] != nil {
		t.Fatalf("retransmitted decision after Forget: %v", eff)
	}
	eff = p.Prepare(&wire.Prepare{TxID: "T", Ops: []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}}, Coord: "C0"})
	if len(eff) != 1 || eff[0].(Send).Msg.(*wire.Vote).Yes {
		t.Fatalf("late PREPARE of a forgotten transaction: %v, want a NO vote", eff)
	}
}
