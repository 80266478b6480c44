package protocol

import (
	"fmt"
	"slices"
	"testing"

	"github.com/txd/txd/wire"
)

// Termination protocols (termination.go): direct tests of one participant's
// rounds. The cluster with the coordinator dead, restarted, cut off, or the
// network split is package sim's.

func qr(from string, st wire.State) *wire.QueryReply {
	return &wire.QueryReply{TxID: "TX1", From: from, State: st}
}

// coordKinds is what a Timer sends when it asks only the coordinator: the
// first tick in doubt (after the vote, after PRECOMMIT, after a late timer),
// and every tick after the coordinator answered.
func coordKinds(seq int) []string {
	return []string{"send TC QUERY TX1", fmt.Sprintf("timer TX1 #%d", seq)}
}

// roundKinds is what a Timer sends for participant self of abc once the
// coordinator stayed silent for a whole interval: a peer round opens, the
// coordinator and every other member are asked, and a timer is set.
func roundKinds(self string, seq int) []string {
	out := []string{"send TC QUERY TX1"}
	for _, id := range abc {
		if id != self {
			out = append(out, "send "+id+" QUERY TX1")
		}
	}
	return append(out, fmt.Sprintf("timer TX1 #%d", seq))
}

func TestTerminationRound3PC(t *testing.T) {
	t.Run("all READY: the lowest id aborts and tells everyone", func(t *testing.T) {
		p := newPartAs(t, "A", nil)
		prepared3(t, p, "TX1", abc, set("k", "v"))
		// The first tick asks only the coordinator: nothing was asked
		// before, so nothing is decided, and no peer is asked yet.
		effs := p.Timer("TX1", 1)
		wantKinds(t, "tick 1", effs, coordKinds(2)...)
		if s := sends(effs)[0]; s.Addr != coordAddr || s.Msg.(*wire.Query).From != "A" {
			t.Fatalf("query to %s at %q: %+v", s.To, s.Addr, s.Msg)
		}
		// The coordinator says it is alive (undecided): no decision, and
		// peers' answers before any peer round are refused: nobody asked.
		wantKinds(t, "coordinator alive", p.QueryReply(&wire.QueryReply{TxID: "TX1", From: coordID, State: wire.StateInit}))
		wantKinds(t, "B", p.QueryReply(qr("B", wire.StateReady)), "refused B QueryReply TX1")
		wantKinds(t, "C", p.QueryReply(qr("C", wire.StateAborted)), "refused C QueryReply TX1")
		// It answered: again only the coordinator is asked.
		wantKinds(t, "tick 2", p.Timer("TX1", 2), coordKinds(3)...)
		// Tick 3: the coordinator stayed silent; the peer round opens.
		effs = p.Timer("TX1", 3)
		wantKinds(t, "round 1", effs, roundKinds("A", 4)...)
		for _, s := range sends(effs) {
			want := coordAddr
			if s.To != coordID {
				want = addrOf(s.To)
			}
			if q := s.Msg.(*wire.Query); s.Addr != want || q.From != "A" {
				t.Fatalf("query to %s at %q: %+v", s.To, s.Addr, q)
			}
		}
		// The peer round: the coordinator is silent; every peer READY.
		wantKinds(t, "B", p.QueryReply(qr("B", wire.StateReady)))
		wantKinds(t, "C", p.QueryReply(qr("C", wire.StateReady)))
		wantKinds(t, "stranger", p.QueryReply(qr("Z", wire.StateCommitted)))
		effs = p.Timer("TX1", 4)
		wantKinds(t, "round 1 ends silent", effs, "persist forced ABORT TX1")
		rec := effs[0].(Persist).Rec
		if rec.Reason != "termination protocol, led by A: nobody was pre-committed" || rec.Protocol != wire.ThreePC {
			t.Fatalf("ABORT %+v", rec)
		}
		if l := p.Locked(); len(l) != 0 {
			t.Fatalf("still locked after the ABORT was logged: %v", l)
		}
		wantKinds(t, "timer while pending", p.Timer("TX1", 4))
		wantKinds(t, "reply while pending", p.QueryReply(qr("B", wire.StateCommitted)))
		effs = p.Logged(rec)
		wantKinds(t, "Logged", effs, "send TC ACK TX1 ABORTED", "send B ABORT TX1", "send C ABORT TX1")
		for _, s := range sends(effs)[1:] {
			if d := s.Msg.(*wire.Decision); d.Commit || d.Reason != rec.Reason || s.Addr != addrOf(s.To) {
				t.Fatalf("announce %+v to %q", d, s.Addr)
			}
		}
		p.noLocksT(t)
		wantKinds(t, "Logged again", p.Logged(rec))
		wantKinds(t, "timer after", p.Timer("TX1", 4))
		wantKinds(t, "reply after", p.QueryReply(qr("B", wire.StateCommitted)))
	})

	t.Run("a lower live id leads; with it silent, the next one does", func(t *testing.T) {
		p := newPartAs(t, "B", nil)
		prepared3(t, p, "TX1", abc, set("k", "v"))
		wantKinds(t, "tick 1", p.Timer("TX1", 1), coordKinds(2)...)
		wantKinds(t, "peer round", p.Timer("TX1", 2), roundKinds("B", 3)...)
		p.QueryReply(qr("A", wire.StateReady))
		p.QueryReply(qr("C", wire.StateReady))
		// A answered: A leads, B waits for its decision.
		wantKinds(t, "A alive", p.Timer("TX1", 3), roundKinds("B", 4)...)
		p.QueryReply(qr("C", wire.StateReady))
		// A silent this round: B is the lowest live id.
		effs := p.Timer("TX1", 4)
		wantKinds(t, "B leads", effs, "persist forced ABORT TX1")
		wantKinds(t, "Logged", p.Logged(effs[0].(Persist).Rec), "send TC ACK TX1 ABORTED", "send A ABORT TX1",
			"send C ABORT TX1")
	})

	t.Run("alone", func(t *testing.T) {
		for _, pre := range []bool{false, true} {
			p := newPartAs(t, "C", nil)
			prepared3(t, p, "TX1", abc, set("k", "v"))
			seq := 2
			if pre {
				precommitted3(t, p, "TX1")
				seq = 3
			}
			wantKinds(t, "tick 1", p.Timer("TX1", uint64(seq-1)), coordKinds(seq)...)
			wantKinds(t, "round", p.Timer("TX1", uint64(seq)), roundKinds("C", seq+1)...)
			effs := p.Timer("TX1", uint64(seq+1))
			want := "ABORT"
			if pre {
				want = "COMMIT"
			}
			wantKinds(t, "silent", effs, "persist forced "+want+" TX1")
		}
	})

	t.Run("mixed: pre-commit the READY ones, commit a round later", func(t *testing.T) {
		p := newPartAs(t, "A", map[string]string{"k": "1"})
		prepared3(t, p, "TX1", abc, add("k", 1))
		wantKinds(t, "tick 1", p.Timer("TX1", 1), coordKinds(2)...)
		wantKinds(t, "peer round", p.Timer("TX1", 2), roundKinds("A", 3)...)
		p.QueryReply(qr("B", wire.StatePrecommitted))
		p.QueryReply(qr("C", wire.StateReady))
		effs := p.Timer("TX1", 3)
		// A (itself READY) forces PRECOMMIT, pre-commits C, and asks again.
		wantKinds(t, "lead", effs, append([]string{"persist forced PRECOMMIT TX1", "send C PRECOMMIT TX1"},
			roundKinds("A", 4)...)...)
		var prec Record
		for _, pe := range persists(effs) {
			prec = pe.Rec
		}
		for _, s := range sends(effs) {
			if s.To == "C" && s.Msg.Type() == wire.TypePreCommit && s.Addr != addrOf("C") {
				t.Fatalf("PRE-COMMIT to C at %q", s.Addr)
			}
		}
		// Its own PRECOMMIT: no ack to itself, a new timer.
		wantKinds(t, "Logged(PRECOMMIT)", p.Logged(prec), "timer TX1 #5")
		wantKinds(t, "old timer", p.Timer("TX1", 4))
		p.QueryReply(qr("B", wire.StatePrecommitted))
		p.QueryReply(qr("C", wire.StatePrecommitted))
		effs = p.Timer("TX1", 5)
		wantKinds(t, "all PRECOMMITTED", effs, "persist forced COMMIT TX1")
		if r := effs[0].(Persist).Rec.Reason; r != "termination protocol, led by A: A was pre-committed" {
			t.Fatalf("reason %q", r)
		}
		wantKinds(t, "Logged", p.Logged(effs[0].(Persist).Rec), "send TC ACK TX1 COMMITTED", "send B COMMIT TX1",
			"send C COMMIT TX1")
		if store, _ := p.Status(); store["k"] != "2" {
			t.Fatalf("store %v", store)
		}
	})

	t.Run("mixed, leader PRECOMMITTED: pre-commit the others", func(t *testing.T) {
		p := newPartAs(t, "A", nil)
		prepared3(t, p, "TX1", abc, set("k", "v"))
		precommitted3(t, p, "TX1")
		// After PRECOMMIT is durable the first tick asks only the coordinator.
		wantKinds(t, "tick 1", p.Timer("TX1", 2), coordKinds(3)...)
		wantKinds(t, "peer round", p.Timer("TX1", 3), roundKinds("A", 4)...)
		p.QueryReply(qr("B", wire.StateReady))
		p.QueryReply(qr("C", wire.StateReady))
		wantKinds(t, "lead", p.Timer("TX1", 4),
			append([]string{"send B PRECOMMIT TX1", "send C PRECOMMIT TX1"}, roundKinds("A", 5)...)...)
		// Still READY (their PRECOMMIT is being written): again.
		p.QueryReply(qr("B", wire.StatePrecommitted))
		p.QueryReply(qr("C", wire.StateReady))
		wantKinds(t, "again", p.Timer("TX1", 5), append([]string{"send C PRECOMMIT TX1"}, roundKinds("A", 6)...)...)
		p.QueryReply(qr("B", wire.StatePrecommitted))
		p.QueryReply(qr("C", wire.StatePrecommitted))
		wantKinds(t, "commit", p.Timer("TX1", 6), "persist forced COMMIT TX1")
	})

	t.Run("a peer's outcome is adopted at once, without announcing it", func(t *testing.T) {
		for _, st := range []wire.State{wire.StateCommitted, wire.StateAborted} {
			for _, pre := range []bool{false, true} {
				p := newPartAs(t, "A", nil)
				prepared3(t, p, "TX1", abc, set("k", "v"))
				if pre {
					precommitted3(t, p, "TX1")
				}
				// Nobody asked C yet: refused.
				wantKinds(t, "unasked", p.QueryReply(qr("C", st)), "refused C QueryReply TX1")
				seq := uint64(1)
				if pre {
					seq = 2
				}
				wantKinds(t, "tick 1", p.Timer("TX1", seq), coordKinds(int(seq)+1)...)
				wantKinds(t, "peer round", p.Timer("TX1", seq+1), roundKinds("A", int(seq)+2)...)
				// The coordinator answers: the round closes at the next tick.
				p.QueryReply(&wire.QueryReply{TxID: "TX1", From: coordID, State: wire.StateInit})
				wantKinds(t, "alive", p.Timer("TX1", seq+2), coordKinds(int(seq)+3)...)
				// Even outside a round (a late reply to our question): an
				// outcome is an outcome.
				effs := p.QueryReply(qr("C", st))
				kind := map[wire.State]string{wire.StateCommitted: "COMMIT", wire.StateAborted: "ABORT"}[st]
				wantKinds(t, "adopt", effs, "persist forced "+kind+" TX1")
				if r := effs[0].(Persist).Rec.Reason; r != "learned from C" {
					t.Fatalf("reason %q", r)
				}
				wantKinds(t, "duplicate reply", p.QueryReply(qr("C", st)))
				wantKinds(t, "Logged", p.Logged(effs[0].(Persist).Rec), "send TC ACK TX1 "+string(st))
			}
		}
	})

	t.Run("the coordinator's PRE-COMMIT counts as alive", func(t *testing.T) {
		p := newPartAs(t, "A", nil)
		prepared3(t, p, "TX1", abc, set("k", "v"))
		wantKinds(t, "tick 1", p.Timer("TX1", 1), coordKinds(2)...)
		wantKinds(t, "peer round", p.Timer("TX1", 2), roundKinds("A", 3)...)
		p.QueryReply(qr("B", wire.StateReady))
		effs := p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"})
		wantKinds(t, "Logged", p.Logged(effs[0].(Persist).Rec), "timer TX1 #4", "send TC ACK TX1 PRECOMMITTED")
		// The round saw the coordinator: no decision, and only the
		// coordinator is asked again.
		wantKinds(t, "no lead", p.Timer("TX1", 4), coordKinds(5)...)
		// It is silent now: a new peer round.
		wantKinds(t, "peer round again", p.Timer("TX1", 5), roundKinds("A", 6)...)
		// That round ends silent: now A leads (it is PRECOMMITTED, B
		// answered READY: pre-commit B).
		p.QueryReply(qr("B", wire.StateReady))
		wantKinds(t, "lead", p.Timer("TX1", 6), append([]string{"send B PRECOMMIT TX1"}, roundKinds("A", 7)...)...)
	})

	t.Run("alive is per round", func(t *testing.T) {
		p := newPartAs(t, "A", nil)
		prepared3(t, p, "TX1", abc, set("k", "v"))
		wantKinds(t, "tick 1", p.Timer("TX1", 1), coordKinds(2)...)
		// A peer round is open when the coordinator first answers: that
		// round ends without a decision.
		wantKinds(t, "peer round", p.Timer("TX1", 2), roundKinds("A", 3)...)
		for seq := uint64(3); seq < 7; seq++ {
			p.QueryReply(&wire.QueryReply{TxID: "TX1", From: coordID, State: wire.StatePrecommitted})
			wantKinds(t, "alive", p.Timer("TX1", seq), coordKinds(int(seq)+1)...)
		}
		wantKinds(t, "silent", p.Timer("TX1", 7), roundKinds("A", 8)...)
		wantKinds(t, "silent again", p.Timer("TX1", 8), "persist forced ABORT TX1")
	})

	t.Run("after a restart the first round only asks", func(t *testing.T) {
		p := newPartAs(t, "A", nil)
		rec := prepare3("TX1", abc, set("k", "v"))
		if err := p.Replay(Record{Kind: RecPrepared, TxID: "TX1", Protocol: wire.ThreePC, Ops: rec.Ops,
			Coord: coordID, CoordAddr: coordAddr, Members: rec.Members}); err != nil {
			t.Fatal(err)
		}
		wantKinds(t, "Recovered", p.Recovered(), "send TC QUERY TX1", "timer TX1 #1")
		// A reply that arrives outside a round does not count toward one.
		p.QueryReply(qr("B", wire.StateReady))
		wantKinds(t, "first round", p.Timer("TX1", 1), roundKinds("A", 2)...)
		// Recovered already asked the coordinator: two silent ticks decide.
		wantKinds(t, "silent", p.Timer("TX1", 2), "persist forced ABORT TX1")
	})
}

func TestTerminationRound2PC(t *testing.T) {
	p := newPartAs(t, "A", nil)
	m := prepare3("TX1", abc, set("k", "v"))
	m.Protocol = wire.TwoPC
	rec := p.Prepare(m)[0].(Persist).Rec
	wantKinds(t, "Logged", p.Logged(rec), "send TC VOTE-YES TX1", "timer TX1 #1")
	// Cooperative termination: the first tick asks only the coordinator;
	// with it silent, peers are asked, but READY peers cannot resolve
	// anything: A stays READY, round after round, and never decides or
	// pre-commits anybody.
	for seq := 1; seq <= 30; seq++ {
		want := roundKinds("A", seq+1)
		if seq == 1 {
			want = coordKinds(seq + 1)
		}
		wantKinds(t, "round", p.Timer("TX1", uint64(seq)), want...)
		for _, id := range []string{"B", "C"} {
			var refused []string
			if seq == 1 {
				// Peers not asked yet: their answers are refused.
				refused = []string{"refused " + id + " QueryReply TX1"}
			}
			wantKinds(t, id, p.QueryReply(qr(id, wire.StateReady)), refused...)
		}
	}
	if st := p.txns["TX1"].state; st != wire.StateReady || len(p.Locked()) != 1 {
		t.Fatalf("state %q, locks %v", st, p.Locked())
	}
	// A peer that knows the outcome resolves it.
	effs := p.QueryReply(qr("C", wire.StateCommitted))
	wantKinds(t, "C committed", effs, "persist forced COMMIT TX1")
	wantKinds(t, "Logged", p.Logged(effs[0].(Persist).Rec), "send TC ACK TX1 COMMITTED")
}

// The same events give the same effects, in the same order: a leader
// pre-committing several members (itself first, then in member order).
func TestTerminationDeterministic(t *testing.T) {
	run := func() []string {
		p := newPartAs(t, "B", nil)
		members := []string{"E", "B", "D", "A", "C"}
		prepared3(t, p, "TX1", members, set("k", "v"))
		p.Timer("TX1", 1) // asks the coordinator
		p.Timer("TX1", 2) // it was silent: the peer round opens
		p.QueryReply(qr("E", wire.StateReady))
		p.QueryReply(qr("D", wire.StatePrecommitted))
		p.QueryReply(qr("C", wire.StateReady))
		return kinds(p.Timer("TX1", 3))
	}
	want := []string{"persist forced PRECOMMIT TX1", "send E PRECOMMIT TX1", "send C PRECOMMIT TX1",
		"send TC QUERY TX1", "send E QUERY TX1", "send D QUERY TX1", "send A QUERY TX1", "send C QUERY TX1",
		"timer TX1 #4"}
	for range 20 {
		if got := run(); !slices.Equal(got, want) {
			t.Fatalf("effects\n  %q\nwant\n  %q", got, want)
		}
	}
}
