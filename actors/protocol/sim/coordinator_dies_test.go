package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// 3PC with the coordinator dead: wherever the participants are when it
// dies, their termination protocol settles the transaction, and a
// restarted coordinator agrees with them.

// dieScenario describes where the participants are when the coordinator
// dies.
type dieScenario struct {
	name   string
	states []wire.State // per participant, as they are when it dies
	build  func(s *Sim) // drives the protocol there and kills the coordinator
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
		sc.build = func(s *Sim) {
			s.Filter = func(e Envelope) Verdict {
				if e.From == CoordID && e.Msg.Type() == wire.TypePreCommit && mask&(1<<slices.Index(ids, e.To)) == 0 ||
					e.To == CoordID && e.Msg.Type() == wire.TypeAck {
					return Drop
				}
				return Deliver
			}
			s.Begin("TX1", opsFor(ids, add("balance", -100)))
			s.Run()
			s.Kill(CoordID)
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
				build: func(s *Sim) {
					s.Filter = func(e Envelope) Verdict {
						if e.From == CoordID && e.Msg.Type() == wire.TypeDecision && e.To != ids[k] {
							return Drop
						}
						return Deliver
					}
					s.Begin("TX1", opsFor(ids, add("balance", -100)))
					s.Run()
					s.Kill(CoordID)
				}},
			// k voted YES and heard ABORT (a vote timed out); the others
			// are READY.
			dieScenario{states: only(wire.StateAborted, wire.StateReady), want: wire.StateAborted,
				build: func(s *Sim) {
					late := ids[(k+1)%n]
					s.Filter = func(e Envelope) Verdict {
						switch {
						case e.From == late && e.Msg.Type() == wire.TypeVote:
							return Hold
						case e.From == CoordID && e.Msg.Type() == wire.TypeDecision && e.To != ids[k]:
							return Drop
						}
						return Deliver
					}
					s.Begin("TX1", opsFor(ids, add("balance", -100)))
					s.Run()
					s.Fire(CoordID, "TX1") // the vote timer
					s.Run()
					s.Kill(CoordID)
				}},
			// k voted NO; the ABORT reached nobody.
			dieScenario{states: only(wire.StateAborted, wire.StateReady), want: wire.StateAborted,
				build: func(s *Sim) {
					s.Filter = func(e Envelope) Verdict {
						if e.From == CoordID && e.Msg.Type() == wire.TypeDecision {
							return Drop
						}
						return Deliver
					}
					o := opsFor(ids, add("balance", -100))
					o[ids[k]] = ops(add("balance", -5000))
					s.Begin("TX1", o)
					s.Run()
					s.Kill(CoordID)
				}},
			// CAN-COMMIT never reached k (it is held, to arrive late).
			dieScenario{states: only(wire.StateUnknown, wire.StateReady), want: wire.StateAborted,
				build: func(s *Sim) {
					s.Filter = HoldIf(Is(CoordID, ids[k], wire.TypePrepare))
					s.Begin("TX1", opsFor(ids, add("balance", -100)))
					s.Run()
					// The kill lost it; put it back on the way, held.
					s.Kill(CoordID)
					s.held = append(s.held, Envelope{From: CoordID, To: ids[k], Msg: &wire.Prepare{TxID: "TX1",
						Protocol: wire.ThreePC, Ops: ops(add("balance", -100)), Coord: CoordID, CoordAddr: CoordAddr,
						Members: s.Members(ids)}})
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
							s.Seed(id, "balance", "1000")
						}
						sc.build(s)
						s.Filter = nil
						// A Finished before the kill does not count: END is
						// lazy and died with the coordinator.
						if s.Records(CoordID, protocol.RecEnd, "TX1") != 0 {
							t.Fatal("END durable")
						}
						s.finished["TX1"] = 0
						got := map[string]wire.State{}
						for i, id := range ids {
							got[id] = s.State(id, "TX1")
							if got[id] != sc.states[i] {
								t.Fatalf("set-up: %s is %q, want %q", id, got[id], sc.states[i])
							}
						}
						if dupAll {
							s.Filter = func(Envelope) Verdict { return Dup }
						}
						rounds := 0
						for ; rounds < restartAt; rounds++ {
							s.tick("TX1")
						}
						if restartAt >= 0 {
							s.Restart(CoordID)
							s.Run()
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
							s.Records(CoordID, protocol.RecBegin, "TX1") == 0 {
							late = ids[k]
						}
						if late != "" {
							s.tick("TX1")
							for _, id := range ids {
								if id == late {
									if st := s.State(id, "TX1"); st != wire.StateUnknown {
										t.Fatalf("%s is %q before its CAN-COMMIT arrived", id, st)
									}
									continue
								}
								if st := s.State(id, "TX1"); st != sc.want {
									t.Fatalf("%s is %q after the coordinator answered, want %q", id, st, sc.want)
								}
								if q := s.SentOf(id, late, wire.TypeQuery, "TX1"); len(q) != 0 {
									t.Fatalf("%s asked %s although the coordinator answered", id, late)
								}
							}
							if s.Release(nil, false) != 1 {
								t.Fatal("CAN-COMMIT not held")
							}
							s.Run()
						}
						s.settle("TX1", 6)
						if late != "" {
							if r := s.TxStatus(late, "TX1").Reason; r != "presumed abort" {
								t.Errorf("%s's reason %q", late, r)
							}
						}
						s.wantAll("TX1", sc.want)
						// A late CAN-COMMIT: NO, the transaction is over here.
						if s.Release(nil, false) > 0 {
							s.Run()
							for _, id := range ids {
								for _, v := range s.SentOf(id, CoordID, wire.TypeVote, "TX1") {
									if v.(*wire.Vote).Yes && sc.states[slices.Index(ids, id)] == wire.StateUnknown {
										t.Errorf("%s voted YES late", id)
									}
								}
							}
						}
						if restartAt < 0 {
							s.Restart(CoordID)
							s.Run()
							s.settle("TX1", 2)
						}
						// The coordinator (if it had logged anything) agrees
						// and finishes; nothing is applied twice.
						if s.nodes[CoordID].log.has(false, func(r protocol.Record) bool { return r.TxID == "TX1" }) {
							if s.finished["TX1"] != 1 {
								t.Errorf("finished %d\n%s", s.finished["TX1"], s.Trace())
							}
							decided := s.Records(CoordID, protocol.RecDecision, "TX1")
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
				s.Seed(id, "balance", "1000")
			}
			s.Filter = func(e Envelope) Verdict {
				if e.To == CoordID && e.Msg.Type() == wire.TypeAck || !pre && e.Msg.Type() == wire.TypePreCommit {
					return Drop
				}
				return Deliver
			}
			s.Begin("TX1", opsFor(s.ids, add("balance", -100)))
			s.Run()
			s.Filter = nil
			want, st := wire.StateAborted, wire.StateReady
			if pre {
				want, st = wire.StateCommitted, wire.StatePrecommitted
			}
			for _, id := range s.ids {
				if got := s.State(id, "TX1"); got != st {
					t.Fatalf("%s: %q", id, got)
				}
			}
			if s.Records(CoordID, protocol.RecBegin, "TX1") != 1 || s.Records(CoordID, protocol.RecDecision, "TX1") != 0 {
				t.Fatal("coordinator log")
			}
			s.Kill(CoordID)
			// Tick 1 asks the coordinator; tick 2 (it was silent) asks the
			// peers; tick 3 ends that round silent and A leads.
			if r := s.settle("TX1", 5); r != 3 {
				t.Errorf("settled in %d rounds, want 3", r)
			}
			s.wantAll("TX1", want)
			a, b := s.TxStatus("A", "TX1"), s.TxStatus("B", "TX1")
			if !strings.HasPrefix(a.Reason, "termination protocol, led by A: ") || b.Reason != a.Reason {
				t.Errorf("reasons %q / %q", a.Reason, b.Reason)
			}
			if len(s.SentOf("B", "", wire.TypeDecision, "TX1")) != 0 {
				t.Error("B announced a decision; A leads")
			}
			s.Restart(CoordID)
			s.Run()
			if q := s.SentOf(CoordID, "", wire.TypeQuery, "TX1"); len(q) != 2 {
				t.Fatalf("recovered coordinator sent %d queries", len(q))
			}
			if r := s.Replies("TX1"); len(r) != 1 || r[0].Outcome != want {
				t.Fatalf("recovered coordinator replied %+v", r)
			}
			if s.finished["TX1"] != 1 {
				t.Fatalf("not finished\n%s", s.Trace())
			}
			s.wantAll("TX1", want)
		})
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
					s.Seed(id, "balance", "1000")
				}
				s.Filter = func(e Envelope) Verdict {
					if e.To == CoordID && e.Msg.Type() == wire.TypeAck || !pre && e.Msg.Type() == wire.TypePreCommit {
						return Drop
					}
					return Deliver
				}
				s.Begin("TX1", opsFor(abc, add("balance", -100)))
				s.Run()
				s.Kill(CoordID)
				s.Filter = nil
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
				s.SyncThenCrash("A")
				s.nodes["A"].log.manual = false
				if s.Records("A", map[bool]protocol.RecKind{true: protocol.RecCommit, false: protocol.RecAbort}[pre], "TX1") != 1 {
					t.Fatal("A's outcome not durable")
				}
				for i := 0; ; i++ {
					if i == backAt {
						s.Restart("A")
						s.Run()
					}
					if i >= backAt && s.State("B", "TX1").Final() && s.State("C", "TX1").Final() {
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
					if n := len(s.SentOf("A", "", wire.TypeDecision, "TX1")); n != 0 {
						t.Errorf("A announced %d times", n)
					}
					if r := s.TxStatus("C", "TX1").Reason; !strings.Contains(r, "led by B") {
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
				s.Seed(id, "balance", "1000")
			}
			s.Filter = func(e Envelope) Verdict {
				if e.From == CoordID && e.Msg.Type() == wire.TypePreCommit && e.To != "A" || e.To == CoordID && e.Msg.Type() == wire.TypeAck {
					return Drop
				}
				return Deliver
			}
			s.Begin("TX1", opsFor(abc, add("balance", -100)))
			s.Run()
			s.Filter = nil
			if s.State("A", "TX1") != wire.StatePrecommitted {
				t.Fatal("set-up")
			}
			s.Kill(CoordID)
			s.Kill("A")
			for i := 0; i < backAt; i++ {
				s.tick("TX1")
			}
			s.Restart("A")
			s.Run()
			s.settle("TX1", 6)
			outcome := s.State("A", "TX1")
			if backAt >= 2 && outcome != wire.StateAborted {
				t.Errorf("B and C decided while A was down; A must follow them: %q", outcome)
			}
			if backAt == 0 && outcome != wire.StateCommitted {
				t.Errorf("A was back in time to lead: %q", outcome)
			}
			s.wantAll("TX1", outcome)
			// The coordinator comes back and agrees.
			s.Restart(CoordID)
			s.Run()
			if r := s.Replies("TX1"); len(r) != 1 || r[0].Outcome != outcome || s.finished["TX1"] != 1 {
				t.Fatalf("recovered coordinator: replies %+v, finished %d", r, s.finished["TX1"])
			}
			s.wantAll("TX1", outcome)
		})
	}
}
