package protocol

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// Termination protocols (termination.go): direct tests of one participant's
// rounds, then the simulated cluster with the coordinator dead, restarted,
// cut off, or the network split.

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

// --- the simulated cluster ---

// settle runs termination rounds until every live participant knows the
// outcome of tx; it returns how many rounds it took.
func (s *sim) settle(tx string, max int) int {
	s.t.Helper()
	for i := 1; i <= max; i++ {
		s.tick(tx)
		done := true
		for _, id := range s.ids {
			if s.nodes[id].up && !s.state(id, tx).Final() {
				done = false
			}
		}
		if done {
			return i
		}
	}
	s.t.Fatalf("%s not settled after %d rounds: %v\n%s", tx, max, s.states(tx), s.trace())
	return 0
}

func (s *sim) states(tx string) map[string]wire.State {
	out := map[string]wire.State{}
	for _, id := range s.ids {
		if s.nodes[id].up {
			out[id] = s.state(id, tx)
		}
	}
	return out
}

// wantAll: every participant reached st on tx, holds no lock, and the
// store shows the transaction applied once (balance) or never.
func (s *sim) wantAll(tx string, st wire.State) {
	s.t.Helper()
	bal := "1000"
	if st == wire.StateCommitted {
		bal = "900"
	}
	for _, id := range s.ids {
		if got := s.state(id, tx); got != st {
			s.t.Errorf("%s: %s is %q, want %q", id, tx, got, st)
		}
		s.noLocks(id)
		c := s.records(id, RecCommit, tx)
		if (st == wire.StateCommitted && c != 1) || (st != wire.StateCommitted && c != 0) {
			s.t.Errorf("%s logged COMMIT %d times", id, c)
		}
	}
	s.wantBalance(bal, s.ids...)
	s.checkAtomic(tx)
	if s.t.Failed() {
		s.t.Logf("trace:\n%s", s.trace())
	}
}

// dieScenario describes where the participants are when the coordinator
// dies.
type dieScenario struct {
	name   string
	states []wire.State // per participant, as they are when it dies
	build  func(s *sim) // drives the protocol there and kills the coordinator
	want   wire.State
}

func dieScenarios(ids []string) []dieScenario {
	var out []dieScenario
	n := len(ids)
	// Every mix of READY and PRECOMMITTED: PRE-COMMIT reached exactly the
	// PRECOMMITTED ones, and no ack reached the coordinator.
	for mask := 0; mask < 1<<n; mask++ {
		sc := dieScenario{want: wire.StateAborted}
		for i := range ids {
			if mask&(1<<i) != 0 {
				sc.states = append(sc.states, wire.StatePrecommitted)
				sc.want = wire.StateCommitted
			} else {
				sc.states = append(sc.states, wire.StateReady)
			}
		}
		sc.build = func(s *sim) {
			s.filter = func(e envelope) verdict {
				if e.from == coordID && e.msg.Type() == wire.TypePreCommit && mask&(1<<slices.Index(ids, e.to)) == 0 ||
					e.to == coordID && e.msg.Type() == wire.TypeAck {
					return drop
				}
				return deliver
			}
			s.begin("TX1", opsFor(ids, add("balance", -100)))
			s.run()
			s.kill(coordID)
		}
		out = append(out, sc)
	}
	for k := range ids {
		only := func(st, rest wire.State) []wire.State {
			var sts []wire.State
			for i := range ids {
				if i == k {
					sts = append(sts, st)
				} else {
					sts = append(sts, rest)
				}
			}
			return sts
		}
		out = append(out,
			// DO-COMMIT reached only k; the others are PRECOMMITTED.
			dieScenario{states: only(wire.StateCommitted, wire.StatePrecommitted), want: wire.StateCommitted,
				build: func(s *sim) {
					s.filter = func(e envelope) verdict {
						if e.from == coordID && e.msg.Type() == wire.TypeDecision && e.to != ids[k] {
							return drop
						}
						return deliver
					}
					s.begin("TX1", opsFor(ids, add("balance", -100)))
					s.run()
					s.kill(coordID)
				}},
			// k voted YES and heard ABORT (a vote timed out); the others
			// are READY.
			dieScenario{states: only(wire.StateAborted, wire.StateReady), want: wire.StateAborted,
				build: func(s *sim) {
					late := ids[(k+1)%n]
					s.filter = func(e envelope) verdict {
						switch {
						case e.from == late && e.msg.Type() == wire.TypeVote:
							return hold
						case e.from == coordID && e.msg.Type() == wire.TypeDecision && e.to != ids[k]:
							return drop
						}
						return deliver
					}
					s.begin("TX1", opsFor(ids, add("balance", -100)))
					s.run()
					s.fire(coordID, "TX1") // the vote timer
					s.run()
					s.kill(coordID)
				}},
			// k voted NO; the ABORT reached nobody.
			dieScenario{states: only(wire.StateAborted, wire.StateReady), want: wire.StateAborted,
				build: func(s *sim) {
					s.filter = func(e envelope) verdict {
						if e.from == coordID && e.msg.Type() == wire.TypeDecision {
							return drop
						}
						return deliver
					}
					o := opsFor(ids, add("balance", -100))
					o[ids[k]] = ops(add("balance", -5000))
					s.begin("TX1", o)
					s.run()
					s.kill(coordID)
				}},
			// CAN-COMMIT never reached k (it is held, to arrive late).
			dieScenario{states: only(wire.StateUnknown, wire.StateReady), want: wire.StateAborted,
				build: func(s *sim) {
					s.filter = holdIf(isMsg(coordID, ids[k], wire.TypePrepare))
					s.begin("TX1", opsFor(ids, add("balance", -100)))
					s.run()
					// The kill lost it; put it back on the way, held.
					s.kill(coordID)
					s.held = append(s.held, envelope{from: coordID, to: ids[k], msg: &wire.Prepare{TxID: "TX1",
						Protocol: wire.ThreePC, Ops: ops(add("balance", -100)), Coord: coordID, CoordAddr: coordAddr,
						Members: s.members(ids)}})
				}},
		)
		names := []string{"committed", "aborted after YES", "voted NO", "never voted"}
		for i, name := range names {
			out[len(out)-len(names)+i].name = ids[k] + " " + name
		}
	}
	for i := range out {
		if out[i].name == "" {
			var parts []string
			for _, st := range out[i].states {
				parts = append(parts, string(st))
			}
			out[i].name = strings.Join(parts, ",")
		}
	}
	return out
}

// The coordinator dies with the participants in every combination of
// states; they terminate by themselves, all to the same, right outcome,
// applied once. A coordinator restarted afterwards, or at any point
// meanwhile, agrees with them and finishes.
func TestSim3PCCoordinatorDies(t *testing.T) {
	for _, n := range []int{2, 3} {
		ids := abc[:n]
		for _, sc := range dieScenarios(ids) {
			// restart: -1 never (until after), else after that many rounds.
			for _, restartAt := range []int{-1, 0, 1, 2} {
				for _, dupAll := range []bool{false, true} {
					name := fmt.Sprintf("n%d/%s/restart%d/dup=%v", n, sc.name, restartAt, dupAll)
					t.Run(name, func(t *testing.T) {
						s := newSim3(t, ids...)
						for _, id := range ids {
							s.seed(id, "balance", "1000")
						}
						sc.build(s)
						s.filter = nil
						// A Finished before the kill does not count: END is
						// lazy and died with the coordinator.
						if s.records(coordID, RecEnd, "TX1") != 0 {
							t.Fatal("END durable")
						}
						s.finished["TX1"] = 0
						got := map[string]wire.State{}
						for i, id := range ids {
							got[id] = s.state(id, "TX1")
							if got[id] != sc.states[i] {
								t.Fatalf("set-up: %s is %q, want %q", id, got[id], sc.states[i])
							}
						}
						if dupAll {
							s.filter = func(envelope) verdict { return dup }
						}
						rounds := 0
						for ; rounds < restartAt; rounds++ {
							s.tick("TX1")
						}
						if restartAt >= 0 {
							s.restart(coordID)
							s.run()
						}
						// Back before the first tick, a coordinator with
						// nothing durable answers the others' first tick,
						// which asks only it, with presumed abort: nobody asks
						// the participant that never got CAN-COMMIT, so it has
						// no record of TX1 until its CAN-COMMIT arrives. It
						// then votes (the coordinator has no record to count
						// it in), and its own first tick asks the coordinator:
						// presumed abort. (One whose BEGIN is durable asks
						// every participant instead, the late one too,
						// which aborts before voting.)
						late := ""
						if k := slices.Index(sc.states, wire.StateUnknown); k >= 0 && restartAt == 0 &&
							s.records(coordID, RecBegin, "TX1") == 0 {
							late = ids[k]
						}
						if late != "" {
							s.tick("TX1")
							for _, id := range ids {
								if id == late {
									if st := s.state(id, "TX1"); st != wire.StateUnknown {
										t.Fatalf("%s is %q before its CAN-COMMIT arrived", id, st)
									}
									continue
								}
								if st := s.state(id, "TX1"); st != sc.want {
									t.Fatalf("%s is %q after the coordinator answered, want %q", id, st, sc.want)
								}
								if q := s.sentOf(id, late, wire.TypeQuery, "TX1"); len(q) != 0 {
									t.Fatalf("%s asked %s although the coordinator answered", id, late)
								}
							}
							if s.release(nil, false) != 1 {
								t.Fatal("CAN-COMMIT not held")
							}
							s.run()
						}
						s.settle("TX1", 6)
						if late != "" {
							if r := s.part(late).txns["TX1"].reason; r != "presumed abort" {
								t.Errorf("%s's reason %q", late, r)
							}
						}
						s.wantAll("TX1", sc.want)
						// A late CAN-COMMIT: NO, the transaction is over here.
						if s.release(nil, false) > 0 {
							s.run()
							for _, id := range ids {
								for _, v := range s.sentOf(id, coordID, wire.TypeVote, "TX1") {
									if v.(*wire.Vote).Yes && sc.states[slices.Index(ids, id)] == wire.StateUnknown {
										t.Errorf("%s voted YES late", id)
									}
								}
							}
						}
						if restartAt < 0 {
							s.restart(coordID)
							s.run()
							s.settle("TX1", 2)
						}
						// The coordinator (if it had logged anything) agrees
						// and finishes; nothing is applied twice.
						if s.nodes[coordID].log.has(false, func(r Record) bool { return r.TxID == "TX1" }) {
							if s.finished["TX1"] != 1 {
								t.Errorf("finished %d\n%s", s.finished["TX1"], s.trace())
							}
							decided := s.records(coordID, RecDecision, "TX1")
							if decided != 1 {
								t.Errorf("coordinator logged %d decisions", decided)
							}
						}
						s.wantAll("TX1", sc.want)
					})
				}
			}
		}
	}
}

// The named cases of the list, spelled out: both READY → both ABORTED;
// both PRECOMMITTED → both COMMITTED; and the coordinator that comes back
// afterwards reports the participants' outcome, not its own log (which
// says BEGIN, and no decision, in both cases).
func TestSim3PCCoordinatorKilled(t *testing.T) {
	for _, pre := range []bool{false, true} {
		t.Run(fmt.Sprintf("precommitted=%v", pre), func(t *testing.T) {
			s := newSim3(t, "A", "B")
			for _, id := range s.ids {
				s.seed(id, "balance", "1000")
			}
			s.filter = func(e envelope) verdict {
				if e.to == coordID && e.msg.Type() == wire.TypeAck || !pre && e.msg.Type() == wire.TypePreCommit {
					return drop
				}
				return deliver
			}
			s.begin("TX1", opsFor(s.ids, add("balance", -100)))
			s.run()
			s.filter = nil
			want, st := wire.StateAborted, wire.StateReady
			if pre {
				want, st = wire.StateCommitted, wire.StatePrecommitted
			}
			for _, id := range s.ids {
				if got := s.state(id, "TX1"); got != st {
					t.Fatalf("%s: %q", id, got)
				}
			}
			if s.records(coordID, RecBegin, "TX1") != 1 || s.records(coordID, RecDecision, "TX1") != 0 {
				t.Fatal("coordinator log")
			}
			s.kill(coordID)
			// Tick 1 asks the coordinator; tick 2 (it was silent) asks the
			// peers; tick 3 ends that round silent and A leads.
			if r := s.settle("TX1", 5); r != 3 {
				t.Errorf("settled in %d rounds, want 3", r)
			}
			s.wantAll("TX1", want)
			a, b := s.part("A").txns["TX1"], s.part("B").txns["TX1"]
			if !strings.HasPrefix(a.reason, "termination protocol, led by A: ") || b.reason != a.reason {
				t.Errorf("reasons %q / %q", a.reason, b.reason)
			}
			if len(s.sentOf("B", "", wire.TypeDecision, "TX1")) != 0 {
				t.Error("B announced a decision; A leads")
			}
			s.restart(coordID)
			s.run()
			if q := s.sentOf(coordID, "", wire.TypeQuery, "TX1"); len(q) != 2 {
				t.Fatalf("recovered coordinator sent %d queries", len(q))
			}
			if r := s.replyFor("TX1"); len(r) != 1 || r[0].Outcome != want {
				t.Fatalf("recovered coordinator replied %+v", r)
			}
			if s.finished["TX1"] != 1 {
				t.Fatalf("not finished\n%s", s.trace())
			}
			s.wantAll("TX1", want)
		})
	}
}

// THE PARTITION. Three participants; the coordinator dies after PRE-COMMIT
// reached only A. Then the network splits {A} | {B, C} and each side runs
// the termination protocol: A, PRECOMMITTED and alone, commits; B leads
// {B, C}, all READY, and aborts. The transaction is committed on one side
// and aborted on the other. This is 3PC's known unsafety under network
// partitions (the termination protocol takes silence for a crash), which
// docs/protocols.md, "Why 3PC is not safe under partitions", documents. Without the
// split, the very same starting state converges to one outcome.
func TestSim3PCPartition(t *testing.T) {
	start := func(t *testing.T) *sim {
		s := newSim3(t, abc...)
		for _, id := range abc {
			s.seed(id, "balance", "1000")
		}
		s.filter = func(e envelope) verdict {
			if e.from == coordID && e.msg.Type() == wire.TypePreCommit && e.to != "A" {
				return drop
			}
			return deliver
		}
		s.begin("TX1", opsFor(abc, add("balance", -100)))
		for s.state("A", "TX1") != wire.StatePrecommitted {
			if !s.step() {
				t.Fatal("A never pre-committed")
			}
		}
		s.kill(coordID)
		s.filter = nil
		s.run()
		want := map[string]wire.State{"A": wire.StatePrecommitted, "B": wire.StateReady, "C": wire.StateReady}
		for id, st := range want {
			if got := s.state(id, "TX1"); got != st {
				t.Fatalf("start: %s is %q, want %q", id, got, st)
			}
		}
		return s
	}

	t.Run("split {A} | {B, C}: the sides decide differently", func(t *testing.T) {
		s := start(t)
		s.split([]string{"A"}, []string{"B", "C"})
		s.settle("TX1", 5)
		a, b, c := s.state("A", "TX1"), s.state("B", "TX1"), s.state("C", "TX1")
		if a != wire.StateCommitted {
			t.Errorf("A: %q, want COMMITTED (PRECOMMITTED and alone, it leads and commits)", a)
		}
		if b != wire.StateAborted || c != wire.StateAborted {
			t.Errorf("B, C: %q, %q, want ABORTED (B leads {B, C}, all READY)", b, c)
		}
		// The inconsistency, explicitly: this is expected of 3PC.
		if a == b {
			t.Fatalf("A and B agree (%q); the partition should have split the outcome", a)
		}
		if got := s.store("A")["balance"]; got != "900" {
			t.Errorf("A balance %q: A applied the transaction", got)
		}
		s.wantBalance("1000", "B", "C")
		if r := s.part("A").txns["TX1"].reason; r != "termination protocol, led by A: A was pre-committed" {
			t.Errorf("A's reason %q", r)
		}
		if r := s.part("B").txns["TX1"].reason; r != "termination protocol, led by B: nobody was pre-committed" {
			t.Errorf("B's reason %q", r)
		}
		// C followed B's announcement; A's never crossed the split.
		if d := s.sentOf("B", "C", wire.TypeDecision, "TX1"); len(d) != 1 || d[0].(*wire.Decision).Commit {
			t.Errorf("B announced %v to C", d)
		}
		// Healing the network repairs nothing: everyone is final and
		// asks nobody any more; even the other side's late announcement
		// is only acknowledged.
		s.heal()
		for range 3 {
			s.tick("TX1")
		}
		s.post(envelope{from: "B", to: "A", msg: &wire.Decision{TxID: "TX1", Reason: "late"}})
		s.post(envelope{from: "A", to: "B", msg: &wire.Decision{TxID: "TX1", Commit: true, Reason: "late"}})
		s.run()
		if s.state("A", "TX1") != wire.StateCommitted || s.state("B", "TX1") != wire.StateAborted {
			t.Error("a final state changed")
		}
		for _, id := range abc {
			s.noLocks(id)
		}
	})

	t.Run("no split: one outcome", func(t *testing.T) {
		s := start(t)
		s.settle("TX1", 6)
		// A leads, pre-commits B and C, then commits everywhere.
		s.wantAll("TX1", wire.StateCommitted)
		for _, id := range []string{"B", "C"} {
			if p := s.sentOf("A", id, wire.TypePreCommit, "TX1"); len(p) == 0 {
				t.Errorf("A never pre-committed %s", id)
			}
			s.wantRecords(id, "TX1", RecPrepared, RecPreCommit, RecCommit)
		}
		s.restart(coordID)
		s.run()
		if s.finished["TX1"] != 1 {
			t.Fatalf("recovered coordinator did not finish\n%s", s.trace())
		}
		s.wantAll("TX1", wire.StateCommitted)
	})
}

// 2PC's cooperative termination: a peer that knows the outcome (or never
// voted) resolves a participant in doubt; READY peers cannot, and a READY
// participant blocks until the coordinator returns.
func TestSim2PCCooperativeTermination(t *testing.T) {
	start := func(t *testing.T, filter func(envelope) verdict, o map[string][]wire.Op) *sim {
		s := newSim(t, "A", "B")
		for _, id := range s.ids {
			s.seed(id, "balance", "1000")
		}
		s.filter = filter
		if o == nil {
			o = opsFor(s.ids, add("balance", -100))
		}
		s.begin("TX1", o)
		s.run()
		return s
	}
	t.Run("a peer committed", func(t *testing.T) {
		s := start(t, holdIf(isMsg(coordID, "B", wire.TypeDecision)), nil)
		s.kill(coordID)
		s.filter = nil
		if s.state("A", "TX1") != wire.StateCommitted || s.state("B", "TX1") != wire.StateReady {
			t.Fatal("set-up")
		}
		s.settle("TX1", 2)
		s.wantAll("TX1", wire.StateCommitted)
		if r := s.part("B").txns["TX1"].reason; r != "learned from A" {
			t.Errorf("reason %q", r)
		}
	})
	t.Run("a peer aborted", func(t *testing.T) {
		// B's vote is late: the coordinator aborts; only A hears it.
		s := start(t, func(e envelope) verdict {
			if isMsg("B", coordID, wire.TypeVote)(e) {
				return hold
			}
			if isMsg(coordID, "B", wire.TypeDecision)(e) {
				return drop
			}
			return deliver
		}, nil)
		s.fire(coordID, "TX1")
		s.run()
		s.kill(coordID)
		s.filter = nil
		s.settle("TX1", 2)
		s.wantAll("TX1", wire.StateAborted)
	})
	t.Run("a peer never voted", func(t *testing.T) {
		s := start(t, holdIf(isMsg(coordID, "B", wire.TypePrepare)), nil)
		s.kill(coordID)
		s.filter = nil
		s.settle("TX1", 2)
		s.wantAll("TX1", wire.StateAborted)
		if r := s.part("B").txns["TX1"].reason; r != "asked by A before it was prepared here" {
			t.Errorf("B's reason %q", r)
		}
		// That ABORT was forced: after a restart, the PREPARE that was
		// still on its way gets a NO.
		s.crash("B")
		s.restart("B")
		s.post(envelope{from: coordID, to: "B", msg: &wire.Prepare{TxID: "TX1", Protocol: wire.TwoPC,
			Ops: ops(add("balance", -100)), Coord: coordID, CoordAddr: coordAddr, Members: s.members(s.ids)}})
		s.run()
		if v := s.sentOf("B", coordID, wire.TypeVote, "TX1"); len(v) != 1 || v[0].(*wire.Vote).Yes {
			t.Fatalf("B's late vote %v", v)
		}
		s.wantAll("TX1", wire.StateAborted)
	})
	t.Run("all READY: blocked until the coordinator returns", func(t *testing.T) {
		s := start(t, holdIf(isMsg(coordID, "", wire.TypeDecision)), nil)
		if s.records(coordID, RecDecision, "TX1") != 1 {
			t.Fatal("COMMIT not durable")
		}
		s.kill(coordID)
		s.filter = nil
		for range 50 {
			s.tick("TX1")
		}
		for _, id := range s.ids {
			if st := s.state(id, "TX1"); st != wire.StateReady {
				t.Fatalf("%s: %q after 50 rounds; 2PC must block", id, st)
			}
			if l := s.part(id).Locked(); len(l) != 1 {
				t.Fatalf("%s locks %v", id, l)
			}
			// Tick 1 asks only the coordinator; the other 49 ask it and the peer.
			if n := len(s.sentOf(id, "", wire.TypeQuery, "TX1")); n != 99 {
				t.Fatalf("%s asked %d times", id, n)
			}
		}
		for _, id := range s.ids {
			if n := len(s.sentOf(id, "", wire.TypeDecision, "TX1")) + len(s.sentOf(id, "", wire.TypePreCommit, "TX1")); n != 0 {
				t.Fatalf("%s sent %d decisions", id, n)
			}
		}
		s.wantBalance("1000", s.ids...)
		// The coordinator returns with its COMMIT.
		s.restart(coordID)
		s.run()
		s.wantAll("TX1", wire.StateCommitted)
		if s.finished["TX1"] != 1 {
			t.Fatal("not finished")
		}
	})
	t.Run("all READY, coordinator undecided: presumed abort when it returns", func(t *testing.T) {
		s := start(t, holdIf(isMsg("", coordID, wire.TypeVote)), nil)
		s.kill(coordID)
		s.filter = nil
		for range 10 {
			s.tick("TX1")
		}
		if s.state("A", "TX1") != wire.StateReady || s.state("B", "TX1") != wire.StateReady {
			t.Fatal("decided without the coordinator")
		}
		s.restart(coordID) // nothing durable: presumed abort
		s.settle("TX1", 1)
		s.wantAll("TX1", wire.StateAborted)
	})
}

func isFinalAck(e envelope) bool {
	a, ok := e.msg.(*wire.Ack)
	return ok && e.to == coordID && a.State.Final()
}

// Late, duplicated and stale messages around a coordinator that was cut
// off (alive, but its messages were delayed) while the participants ran the
// termination protocol.
func TestSim3PCStaleMessages(t *testing.T) {
	t.Run("a stale PRE-COMMIT after a termination abort is acked ABORTED; the coordinator aborts", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		for _, id := range s.ids {
			s.seed(id, "balance", "1000")
		}
		// Everything the coordinator sends after CAN-COMMIT is delayed, and
		// so are the acks of the participants' outcome.
		s.filter = func(e envelope) verdict {
			if e.from == coordID && e.msg.Type() != wire.TypePrepare || isFinalAck(e) {
				return hold
			}
			return deliver
		}
		s.begin("TX1", opsFor(s.ids, add("balance", -100)))
		s.run()
		if s.coord("TX1").Outcome() != wire.StatePrecommitted {
			t.Fatal("coordinator not pre-committed")
		}
		s.settle("TX1", 3) // its "alive" answers are delayed too
		s.wantAll("TX1", wire.StateAborted)
		if s.coord("TX1").Outcome() != wire.StatePrecommitted {
			t.Fatal("coordinator moved on")
		}
		// Now the coordinator's PRE-COMMITs arrive.
		s.filter = nil
		if s.release(isMsg(coordID, "", wire.TypePreCommit), false) != 2 {
			t.Fatal("PRE-COMMITs not held")
		}
		s.run()
		for _, id := range s.ids {
			// The termination's ack (held), the PRE-COMMIT's, maybe the
			// coordinator's ABORT's: all ABORTED.
			acks := s.sentOf(id, coordID, wire.TypeAck, "TX1")
			if len(acks) < 2 {
				t.Errorf("%s acked %d times", id, len(acks))
			}
			for _, a := range acks {
				if a.(*wire.Ack).State != wire.StateAborted {
					t.Errorf("%s acked %+v", id, a)
				}
			}
		}
		if r := s.replyFor("TX1"); len(r) != 1 || r[0].Outcome != wire.StateAborted ||
			r[0].Reason != "A: aborted by the termination protocol" {
			t.Fatalf("coordinator replied %+v", r)
		}
		// The rest: its old answers, the termination's acks.
		s.release(nil, false)
		s.run()
		s.wantOutcome("TX1", wire.StateAborted, s.ids...)
		s.wantAll("TX1", wire.StateAborted)
	})

	t.Run("a stale PRE-COMMIT after a termination commit is acked COMMITTED; the coordinator commits", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		for _, id := range s.ids {
			s.seed(id, "balance", "1000")
		}
		// PRE-COMMIT reaches A; the rest of what the coordinator sends
		// (PRE-COMMIT to B, its answers) is delayed, and so are the acks of
		// the participants' outcome.
		s.filter = func(e envelope) verdict {
			if e.from == coordID && e.msg.Type() != wire.TypePrepare && !(e.to == "A" && e.msg.Type() == wire.TypePreCommit) ||
				isFinalAck(e) {
				return hold
			}
			return deliver
		}
		s.begin("TX1", opsFor(s.ids, add("balance", -100)))
		s.run()
		if s.state("A", "TX1") != wire.StatePrecommitted || s.state("B", "TX1") != wire.StateReady {
			t.Fatal("set-up")
		}
		s.settle("TX1", 5)
		s.wantAll("TX1", wire.StateCommitted)
		if s.coord("TX1").Outcome() != wire.StatePrecommitted {
			t.Fatal("coordinator moved on")
		}
		s.filter = nil
		if s.release(isMsg(coordID, "B", wire.TypePreCommit), false) != 1 {
			t.Fatal("PRE-COMMIT to B not held")
		}
		s.run()
		if a := s.sentOf("B", coordID, wire.TypeAck, "TX1"); len(a) < 2 || a[1].(*wire.Ack).State != wire.StateCommitted {
			t.Fatalf("B acked %d times", len(a))
		}
		if r := s.replyFor("TX1"); len(r) != 1 || r[0].Outcome != wire.StateCommitted {
			t.Fatalf("coordinator replied %+v", r)
		}
		s.release(nil, false)
		s.run()
		// Its DO-COMMIT came late to participants that had committed: they
		// ack again; the store changed once.
		s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
		s.wantAll("TX1", wire.StateCommitted)
	})

	t.Run("late DO-COMMIT after the termination protocol committed", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		for _, id := range s.ids {
			s.seed(id, "balance", "1000")
		}
		s.filter = holdIf(isMsg(coordID, "", wire.TypeDecision))
		s.begin("TX1", opsFor(s.ids, add("balance", -100)))
		s.run()
		// Decided and durable, but DO-COMMIT is delayed; the coordinator
		// then dies, and the participants commit by themselves.
		s.crash(coordID)
		s.settle("TX1", 3)
		s.wantAll("TX1", wire.StateCommitted)
		// The old DO-COMMITs arrive, twice.
		s.filter = func(envelope) verdict { return dup }
		s.release(nil, false)
		s.run()
		s.wantAll("TX1", wire.StateCommitted)
		for _, id := range s.ids {
			if n := len(s.sentOf(id, coordID, wire.TypeAck, "TX1")); n < 3 {
				t.Errorf("%s acked %d times", id, n)
			}
		}
	})

	t.Run("duplicate and stale query replies", func(t *testing.T) {
		s := newSim3(t, abc...)
		for _, id := range abc {
			s.seed(id, "balance", "1000")
		}
		s.filter = func(e envelope) verdict {
			if e.from == coordID && e.msg.Type() == wire.TypePreCommit && e.to != "B" {
				return drop
			}
			return deliver
		}
		s.begin("TX1", opsFor(abc, add("balance", -100)))
		s.run()
		s.kill(coordID)
		// Every reply three times; the READY ones also kept to be
		// delivered again later, out of their round.
		var stale []envelope
		s.filter = func(e envelope) verdict {
			if r, ok := e.msg.(*wire.QueryReply); ok {
				if r.State == wire.StateReady {
					stale = append(stale, e)
				}
				s.queue = append(s.queue, event{kind: evMsg, env: e})
				return dup
			}
			return deliver
		}
		s.settle("TX1", 6)
		s.wantAll("TX1", wire.StateCommitted)
		for _, e := range stale {
			s.post(e)
		}
		s.run()
		s.wantAll("TX1", wire.StateCommitted)
	})
}

// Random schedules in the model 3PC assumes: no message is lost and a
// termination round (every --timeout) lasts longer than any message takes,
// so rounds happen only when the network is quiet; delivery order is
// random and messages are duplicated. The coordinator dies at a random
// moment and may come back. Everyone must reach one outcome, with every
// commit applied exactly once, and agree with the coordinator.
func TestSim3PCRandomCoordinatorCrash(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		runRandom3(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

func runRandom3(t *testing.T, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	n := 2 + rng.Intn(2)
	ids := abc[:n]
	s := newSim3(t, ids...)
	s.rng = rng
	if rng.Intn(3) == 0 {
		s.ccfg.Delay = time.Second
	}
	for _, id := range ids {
		s.seed(id, "balance", "1000")
	}
	s.filter = func(envelope) verdict {
		if rng.Intn(10) == 0 {
			return dup
		}
		return deliver
	}
	txs := []struct {
		id    string
		delta int64
	}{{"TX1", -100}, {"TX2", -200}}
	txKey := map[string]string{"TX1": "balance", "TX2": "balance"}
	if rng.Intn(2) == 0 {
		txKey["TX2"] = "other" // no lock conflict
	}
	for _, tx := range txs {
		o := opsFor(ids, add(txKey[tx.id], tx.delta))
		if tx.id == "TX2" && txKey["TX2"] == "other" {
			o = opsFor(ids, set("other", "x"))
		}
		if rng.Intn(5) == 0 {
			o[ids[rng.Intn(n)]] = ops(add("balance", -5000))
		}
		s.begin(tx.id, o)
	}
	crashes := 1 + rng.Intn(2)
	crashOdds := 20 + rng.Intn(100)
	quiet := func() {
		// A quiet network: the coordinator's timers, then every
		// participant's round, then maybe the coordinator comes back.
		for _, tx := range txs {
			if s.nodes[coordID].up {
				s.fire(coordID, tx.id)
			}
		}
		s.run()
		for _, tx := range txs {
			s.tick(tx.id)
		}
		if !s.nodes[coordID].up && rng.Intn(3) == 0 {
			s.restart(coordID)
		}
	}
	for i := 0; i < 400; i++ {
		if crashes > 0 && s.nodes[coordID].up && rng.Intn(crashOdds) == 0 {
			s.kill(coordID)
			crashes--
		}
		if !s.step() {
			quiet()
		}
	}
	if !s.nodes[coordID].up {
		s.restart(coordID)
	}
	for range 10 {
		s.run()
		quiet()
	}
	want := int64(1000)
	for _, tx := range txs {
		s.checkAtomic(tx.id)
		committed := false
		for _, id := range ids {
			st := s.state(id, tx.id)
			if st == wire.StateReady || st == wire.StatePrecommitted {
				t.Errorf("%s still in doubt on %s", id, tx.id)
			}
			if st == wire.StateCommitted {
				committed = true
				if c := s.records(id, RecCommit, tx.id); c != 1 {
					t.Errorf("%s logged COMMIT of %s %d times", id, tx.id, c)
				}
			}
		}
		if committed && txKey[tx.id] == "other" {
			for _, id := range ids {
				if v := s.store(id)["other"]; v != "x" {
					t.Errorf("%s: other=%q after %s committed", id, v, tx.id)
				}
			}
		}
		if committed && txKey[tx.id] == "balance" {
			want += tx.delta
			for _, id := range ids {
				if s.state(id, tx.id) != wire.StateCommitted {
					t.Errorf("%s committed somewhere but %s is %q", tx.id, id, s.state(id, tx.id))
				}
			}
		}
		for _, r := range s.replyFor(tx.id) {
			if (r.Outcome == wire.StateCommitted) != committed {
				t.Errorf("%s: the coordinator replied %s, participants committed=%v", tx.id, r.Outcome, committed)
			}
		}
		if s.nodes[coordID].log.has(false, func(r Record) bool { return r.TxID == tx.id }) && s.finished[tx.id] == 0 {
			t.Errorf("%s never finished", tx.id)
		}
	}
	for _, id := range ids {
		s.noLocks(id)
		s.wantBalance(fmt.Sprint(want), id)
	}
	if t.Failed() {
		t.Logf("trace:\n%s", s.trace())
	}
}

// The termination leader makes its outcome durable and dies before it can
// announce it. The next lowest live id leads and, applying the same rule to
// the same states, decides the same; the old leader comes back final.
func TestSim3PCLeaderDiesBeforeAnnouncing(t *testing.T) {
	for _, pre := range []bool{false, true} {
		for _, backAt := range []int{0, 2} { // rounds after its death
			t.Run(fmt.Sprintf("precommitted=%v/back%d", pre, backAt), func(t *testing.T) {
				s := newSim3(t, abc...)
				for _, id := range abc {
					s.seed(id, "balance", "1000")
				}
				s.filter = func(e envelope) verdict {
					if e.to == coordID && e.msg.Type() == wire.TypeAck || !pre && e.msg.Type() == wire.TypePreCommit {
						return drop
					}
					return deliver
				}
				s.begin("TX1", opsFor(abc, add("balance", -100)))
				s.run()
				s.kill(coordID)
				s.filter = nil
				want := wire.StateAborted
				if pre {
					want = wire.StateCommitted
				}
				s.nodes["A"].log.manual = true
				s.tick("TX1") // tick 1: everyone asks the coordinator
				s.tick("TX1") // it was silent: everyone asks the peers too
				s.tick("TX1") // A leads; its outcome is written, not durable
				if len(s.nodes["A"].log.buf) != 1 {
					t.Fatalf("A's log tail: %+v", s.nodes["A"].log.buf)
				}
				s.syncThenCrash("A")
				s.nodes["A"].log.manual = false
				if s.records("A", map[bool]RecKind{true: RecCommit, false: RecAbort}[pre], "TX1") != 1 {
					t.Fatal("A's outcome not durable")
				}
				for i := 0; ; i++ {
					if i == backAt {
						s.restart("A")
						s.run()
					}
					if i >= backAt && s.state("B", "TX1").Final() && s.state("C", "TX1").Final() {
						break
					}
					if i > 6 {
						t.Fatalf("not settled: %v", s.states("TX1"))
					}
					s.tick("TX1")
				}
				s.wantAll("TX1", want)
				if backAt > 0 {
					// B led, not A: A never got to announce.
					if n := len(s.sentOf("A", "", wire.TypeDecision, "TX1")); n != 0 {
						t.Errorf("A announced %d times", n)
					}
					if r := s.part("C").txns["TX1"].reason; !strings.Contains(r, "led by B") {
						t.Errorf("C's reason %q", r)
					}
				}
			})
		}
	}
}

// The only PRECOMMITTED participant crashes along with the coordinator (a
// crash, not a partition: it cannot commit meanwhile). The others, READY,
// abort; when it comes back it asks and adopts their outcome; if it comes
// back before they decide, everyone commits instead. Either way, one
// outcome.
func TestSim3PCPrecommittedParticipantCrashes(t *testing.T) {
	for _, backAt := range []int{0, 1, 2, 3, 5} {
		t.Run(fmt.Sprintf("back%d", backAt), func(t *testing.T) {
			s := newSim3(t, abc...)
			for _, id := range abc {
				s.seed(id, "balance", "1000")
			}
			s.filter = func(e envelope) verdict {
				if e.from == coordID && e.msg.Type() == wire.TypePreCommit && e.to != "A" || e.to == coordID && e.msg.Type() == wire.TypeAck {
					return drop
				}
				return deliver
			}
			s.begin("TX1", opsFor(abc, add("balance", -100)))
			s.run()
			s.filter = nil
			if s.state("A", "TX1") != wire.StatePrecommitted {
				t.Fatal("set-up")
			}
			s.kill(coordID)
			s.kill("A")
			for i := 0; i < backAt; i++ {
				s.tick("TX1")
			}
			s.restart("A")
			s.run()
			s.settle("TX1", 6)
			outcome := s.state("A", "TX1")
			if backAt >= 2 && outcome != wire.StateAborted {
				t.Errorf("B and C decided while A was down; A must follow them: %q", outcome)
			}
			if backAt == 0 && outcome != wire.StateCommitted {
				t.Errorf("A was back in time to lead: %q", outcome)
			}
			s.wantAll("TX1", outcome)
			// The coordinator comes back and agrees.
			s.restart(coordID)
			s.run()
			if r := s.replyFor("TX1"); len(r) != 1 || r[0].Outcome != outcome || s.finished["TX1"] != 1 {
				t.Fatalf("recovered coordinator: replies %+v, finished %d", r, s.finished["TX1"])
			}
			s.wantAll("TX1", outcome)
		})
	}
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
