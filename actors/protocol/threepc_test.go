package protocol

import (
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// 3PC: direct tests of a Participant's PRE-COMMIT handling, then end-to-end
// runs on the simulated network with the coordinator alive (the coordinator
// dying is termination_test.go's).

func newPartAs(t *testing.T, id string, seed map[string]string) *Participant {
	t.Helper()
	p := NewParticipant(ParticipantConfig{NodeID: id, Timeout: askAfter})
	maps.Copy(p.store, seed)
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

// --- end to end, coordinator alive ---

func newSim3(t testing.TB, ids ...string) *sim {
	s := newSim(t, ids...)
	s.proto = wire.ThreePC
	return s
}

// wantRecords checks the records node id wrote for tx, in order (durable
// or, lazy ones, still in the buffer).
func (s *sim) wantRecords(id, tx string, kinds ...RecKind) {
	s.t.Helper()
	var got []RecKind
	for _, r := range s.nodes[id].log.durable {
		if r.TxID == tx {
			got = append(got, r.Kind)
		}
	}
	for _, p := range s.nodes[id].log.buf {
		if p.Rec.TxID == tx {
			got = append(got, p.Rec.Kind)
		}
	}
	if !slices.Equal(got, kinds) {
		s.t.Errorf("%s logged %v for %s, want %v", id, got, tx, kinds)
	}
}

// Every vote combination for 2 and 3 participants, with and without
// --delay, under FIFO and random delivery orders.
func TestSim3PCVoteCombinations(t *testing.T) {
	for _, n := range []int{2, 3} {
		ids := abc[:n]
		for mask := 0; mask < 1<<n; mask++ {
			for seed := int64(0); seed < 4; seed++ {
				for _, delay := range []time.Duration{0, time.Second} {
					name := fmt.Sprintf("n%d/yes%0*b/seed%d/delay%v", n, n, mask, seed, delay)
					t.Run(name, func(t *testing.T) {
						s := newSim3(t, ids...)
						s.ccfg.Delay = delay
						if seed > 0 {
							s.rng = rand.New(rand.NewSource(seed))
						}
						o := map[string][]wire.Op{}
						allYes := true
						for i, id := range ids {
							s.seed(id, "balance", "1000")
							o[id] = ops(add("balance", -100))
							if mask&(1<<i) == 0 {
								o[id] = ops(add("balance", -5000))
								allYes = false
							}
						}
						s.begin("TX1", o)
						for range 4 { // the delay timers, if any
							s.run()
							s.fire(coordID, "TX1")
						}
						s.run()
						if allYes {
							s.wantOutcome("TX1", wire.StateCommitted, ids...)
							s.wantBalance("900", ids...)
							for _, id := range ids {
								s.wantRecords(id, "TX1", RecPrepared, RecPreCommit, RecCommit)
							}
							s.wantRecords(coordID, "TX1", RecBegin, RecPreCommit, RecDecision, RecEnd)
							return
						}
						s.wantOutcome("TX1", wire.StateAborted, ids...)
						s.wantBalance("1000", ids...)
						if n := len(s.sentOf(coordID, "", wire.TypePreCommit, "TX1")); n != 0 {
							t.Errorf("PRE-COMMIT sent %d times on the abort path", n)
						}
						if s.records(coordID, RecPreCommit, "TX1") != 0 {
							t.Error("PRECOMMIT logged on the abort path")
						}
					})
				}
			}
		}
	}
}

// While the coordinator is alive and deciding, a participant's rounds only
// hear "alive" from it and never decide anything by themselves.
func TestSim3PCAliveCoordinatorSuppressesTermination(t *testing.T) {
	s := newSim3(t, "A", "B")
	s.ccfg.Delay = time.Second // a long window in each phase
	s.begin("TX1", opsFor(s.ids, set("k", "v")))
	s.run()
	// PRE-COMMIT is durable, in the delay before it is sent.
	if st := s.coord("TX1").Status().State; st != wire.StatePrecommitted {
		t.Fatalf("coordinator %q", st)
	}
	for range 5 {
		s.tick("TX1")
	}
	for _, id := range s.ids {
		if st := s.state(id, "TX1"); st != wire.StateReady {
			t.Fatalf("%s: %q while the coordinator is alive", id, st)
		}
	}
	r := s.sentOf(coordID, "A", wire.TypeQueryReply, "TX1")
	if len(r) != 5 || r[0].(*wire.QueryReply).State != wire.StatePrecommitted {
		t.Fatalf("coordinator answered %v", r)
	}
	s.fire(coordID, "TX1") // the delay is over: PRE-COMMIT, acks, DECISION
	s.run()
	if d, out, _ := s.coord("TX1").Decided(); !d || out != wire.StateCommitted {
		t.Fatal("not decided")
	}
	// In the delay before DO-COMMIT the decision is durable but withheld:
	// queries only hear "alive", and the PRECOMMITTED participants, though
	// they would commit by themselves, do nothing.
	for range 4 {
		s.tick("TX1")
	}
	for _, id := range s.ids {
		if st := s.state(id, "TX1"); st != wire.StatePrecommitted {
			t.Fatalf("%s: %q during the delay", id, st)
		}
	}
	if d := s.sentOf(coordID, "", wire.TypeDecision, "TX1"); len(d) != 0 {
		t.Fatalf("decision sent during the delay: %v", d)
	}
	s.fire(coordID, "TX1") // DO-COMMIT
	s.run()
	s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
	if n := s.records("A", RecCommit, "TX1"); n != 1 {
		t.Errorf("A logged COMMIT %d times", n)
	}
}

// A participant crashes in each 3PC state and restarts; the coordinator is
// alive. Everyone converges; the commit is applied once.
func TestSim3PCParticipantCrash(t *testing.T) {
	type when int
	const (
		ready         when = iota // voted YES, before PRE-COMMIT
		precommitted              // PRECOMMIT durable, before the ack
		precommitAckd             // PRECOMMIT acked
		committed                 // COMMIT durable, before the ack
	)
	names := []string{"READY", "PRECOMMITTED before ack", "PRECOMMITTED after ack", "COMMIT durable before ack"}
	for _, w := range []when{ready, precommitted, precommitAckd, committed} {
		for _, restartEarly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/restartBeforeCoordTimer=%v", names[w], restartEarly), func(t *testing.T) {
				s := newSim3(t, abc...)
				for _, id := range abc {
					s.seed(id, "balance", "1000")
				}
				s.nodes["B"].log.manual = true
				s.begin("TX1", opsFor(abc, add("balance", -100)))
				s.run()
				s.sync("B") // PREPARED: B votes YES
				s.run()     // PRE-COMMIT everywhere; B's PRECOMMIT written, not durable
				switch w {
				case ready:
					s.crash("B")
				case precommitted:
					s.syncThenCrash("B")
				case precommitAckd:
					s.sync("B")
					s.run() // acks in: the coordinator decides; B's COMMIT written
					s.crash("B")
				case committed:
					s.sync("B")
					s.run()
					s.syncThenCrash("B") // COMMIT durable, no ack
				}
				s.nodes["B"].log.manual = false
				if restartEarly {
					s.restart("B")
					s.run()
				}
				// The coordinator's pre-ack timer, if it still waits: commit
				// (everyone voted YES).
				s.fire(coordID, "TX1")
				s.run()
				if !restartEarly {
					s.restart("B")
					s.run()
				}
				for range 3 {
					s.tick("TX1")
				}
				if w == committed && s.finished["TX1"] == 0 {
					// B is not in doubt and never acked; the coordinator
					// host's session re-sends the decision (a duplicate).
					s.post(envelope{from: coordID, to: "B", msg: &wire.Decision{TxID: "TX1", Commit: true}})
					s.run()
				}
				s.wantOutcome("TX1", wire.StateCommitted, abc...)
				s.wantBalance("900", abc...)
				for _, id := range abc {
					if n := s.records(id, RecCommit, "TX1"); n != 1 {
						t.Errorf("%s logged COMMIT %d times", id, n)
					}
				}
				// Once more from the log: applied exactly once.
				s.crash("B")
				s.restart("B")
				s.run()
				s.wantBalance("900", "B")
			})
		}
	}
}

// Lost messages on the commit path, with the coordinator alive.
func TestSim3PCLostMessages(t *testing.T) {
	tests := []struct {
		name string
		lose func(envelope) bool
		want wire.State
	}{
		// The pre-ack timer commits; B hears DO-COMMIT from READY.
		{"PRE-COMMIT to B", isMsg(coordID, "B", wire.TypePreCommit), wire.StateCommitted},
		{"B's PRE-COMMIT ack", func(e envelope) bool {
			return isMsg("B", coordID, wire.TypeAck)(e) && e.msg.(*wire.Ack).State == wire.StatePrecommitted
		}, wire.StateCommitted},
		{"every PRE-COMMIT", isMsg(coordID, "", wire.TypePreCommit), wire.StateCommitted},
		// B asks and is told.
		{"DO-COMMIT to B", isMsg(coordID, "B", wire.TypeDecision), wire.StateCommitted},
		// The vote timer aborts.
		{"B's vote", isMsg("B", coordID, wire.TypeVote), wire.StateAborted},
		{"CAN-COMMIT to B", isMsg(coordID, "B", wire.TypePrepare), wire.StateAborted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim3(t, abc...)
			for _, id := range abc {
				s.seed(id, "balance", "1000")
			}
			lost := 0
			s.filter = func(e envelope) verdict {
				if lost == 0 && tc.lose(e) {
					lost++
					return drop
				}
				return deliver
			}
			s.begin("TX1", opsFor(abc, add("balance", -100)))
			for range 4 {
				s.run()
				s.fire(coordID, "TX1")
				s.run()
				s.tick("TX1")
			}
			if lost == 0 {
				t.Fatal("nothing was lost")
			}
			if tc.name == "CAN-COMMIT to B" {
				// B never heard of it; the coordinator's courtesy ABORT
				// (or a peer's query) aborted it for good.
				if !s.nodes["B"].log.has(true, recIs(RecAbort, "TX1")) || s.records("B", RecPrepared, "TX1") != 0 {
					t.Fatal("B did not log ABORT")
				}
			}
			s.wantOutcome("TX1", tc.want, abc...)
			bal := "1000"
			if tc.want == wire.StateCommitted {
				bal = "900"
			}
			s.wantBalance(bal, abc...)
		})
	}
}

// Every message duplicated, in several delivery orders; and every round of
// messages delivered in reverse.
func TestSim3PCDuplicatesAndReorder(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		for _, fail := range []bool{false, true} {
			s := newSim3(t, abc...)
			if seed > 0 {
				s.rng = rand.New(rand.NewSource(seed))
			}
			s.filter = func(envelope) verdict { return dup }
			o := map[string][]wire.Op{}
			for _, id := range abc {
				s.seed(id, "balance", "1000")
				o[id] = ops(add("balance", -100))
			}
			if fail {
				o["B"] = ops(add("balance", -1001))
			}
			s.begin("TX1", o)
			s.run()
			if fail {
				s.wantOutcome("TX1", wire.StateAborted, abc...)
				s.wantBalance("1000", abc...)
			} else {
				s.wantOutcome("TX1", wire.StateCommitted, abc...)
				s.wantBalance("900", abc...)
				for _, id := range abc {
					s.wantRecords(id, "TX1", RecPrepared, RecPreCommit, RecCommit)
				}
			}
			if t.Failed() {
				t.Fatalf("seed %d fail=%v", seed, fail)
			}
		}
	}
	for _, fail := range []bool{false, true} {
		s := newSim3(t, abc...)
		s.filter = func(envelope) verdict { return hold }
		o := opsFor(abc, set("k", "v"))
		if fail {
			o["C"] = ops(add("k", -1))
		}
		s.begin("TX1", o)
		for round := 0; round < 10 && len(s.held) > 0; round++ {
			s.release(nil, true)
			s.run()
		}
		want := wire.StateCommitted
		if fail {
			want = wire.StateAborted
		}
		s.wantOutcome("TX1", want, abc...)
	}
}

// Persist before send on the 3PC path, with forced writes completed late.
func TestSim3PCPersistBeforeSend(t *testing.T) {
	t.Run("coordinator: nothing before PRECOMMIT, then DECISION, is durable", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		s.nodes[coordID].log.manual = true
		s.begin("TX1", opsFor(s.ids, set("k", "v")))
		s.run()
		if n := len(s.sentOf(coordID, "", wire.TypePreCommit, "TX1")); n != 0 {
			t.Fatal("PRE-COMMIT before PRECOMMIT was durable")
		}
		s.sync(coordID)
		s.run() // PRE-COMMIT out, acks in, DECISION written, the client answered
		if len(s.sentOf(coordID, "", wire.TypeDecision, "TX1")) != 0 {
			t.Fatal("DO-COMMIT sent before the decision was durable")
		}
		if len(s.replies) != 1 {
			t.Fatalf("client answered %d times once every participant was pre-committed, want 1 (commit is certain)", len(s.replies))
		}
		for _, id := range s.ids {
			if s.state(id, "TX1") != wire.StatePrecommitted {
				t.Fatalf("%s: %q", id, s.state(id, "TX1"))
			}
		}
		s.sync(coordID)
		s.run()
		s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
	})
	t.Run("participant: no PRECOMMITTED ack before PRECOMMIT is durable", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		s.nodes["B"].log.manual = true
		s.begin("TX1", opsFor(s.ids, set("k", "v")))
		s.run()
		s.sync("B")
		s.run()
		if len(s.sentOf("B", coordID, wire.TypeAck, "TX1")) != 0 {
			t.Fatal("B acked before PRECOMMIT was durable")
		}
		for range 3 {
			s.sync("B")
			s.run()
		}
		s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
	})
}

// tick is one termination round everywhere: every live participant's timers
// for tx fire, then the network runs until it is quiet.
func (s *sim) tick(tx string) {
	s.t.Helper()
	for _, id := range s.ids {
		if s.nodes[id].up {
			s.fire(id, tx)
		}
	}
	s.run()
}
