package sim

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// 3PC end to end with the coordinator alive: votes, a working
// coordinator suppressing termination, participant crashes, lost,
// duplicated and reordered messages, persist before send.

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
						s.Cfg.Delay = delay
						if seed > 0 {
							s.Rng = rand.New(rand.NewSource(seed))
						}
						o := map[string][]wire.Op{}
						allYes := true
						for i, id := range ids {
							s.Seed(id, "balance", "1000")
							o[id] = ops(add("balance", -100))
							if mask&(1<<i) == 0 {
								o[id] = ops(add("balance", -5000))
								allYes = false
							}
						}
						s.Begin("TX1", o)
						for range 4 { // the delay timers, if any
							s.Run()
							s.Fire(CoordID, "TX1")
						}
						s.Run()
						if allYes {
							s.wantOutcome("TX1", wire.StateCommitted, ids...)
							s.wantBalance("900", ids...)
							for _, id := range ids {
								s.wantRecords(id, "TX1", protocol.RecPrepared, protocol.RecPreCommit, protocol.RecCommit)
							}
							s.wantRecords(CoordID, "TX1", protocol.RecBegin, protocol.RecPreCommit, protocol.RecDecision, protocol.RecEnd)
							return
						}
						s.wantOutcome("TX1", wire.StateAborted, ids...)
						s.wantBalance("1000", ids...)
						if n := len(s.SentOf(CoordID, "", wire.TypePreCommit, "TX1")); n != 0 {
							t.Errorf("PRE-COMMIT sent %d times on the abort path", n)
						}
						if s.Records(CoordID, protocol.RecPreCommit, "TX1") != 0 {
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
	s.Cfg.Delay = time.Second // a long window in each phase
	s.Begin("TX1", opsFor(s.ids, set("k", "v")))
	s.Run()
	// PRE-COMMIT is durable, in the delay before it is sent.
	if st := s.Coord("TX1").Status().State; st != wire.StatePrecommitted {
		t.Fatalf("coordinator %q", st)
	}
	for range 5 {
		s.tick("TX1")
	}
	for _, id := range s.ids {
		if st := s.State(id, "TX1"); st != wire.StateReady {
			t.Fatalf("%s: %q while the coordinator is alive", id, st)
		}
	}
	r := s.SentOf(CoordID, "A", wire.TypeQueryReply, "TX1")
	if len(r) != 5 || r[0].(*wire.QueryReply).State != wire.StatePrecommitted {
		t.Fatalf("coordinator answered %v", r)
	}
	s.Fire(CoordID, "TX1") // the delay is over: PRE-COMMIT, acks, DECISION
	s.Run()
	if d, out, _ := s.Coord("TX1").Decided(); !d || out != wire.StateCommitted {
		t.Fatal("not decided")
	}
	// In the delay before DO-COMMIT the decision is durable but withheld:
	// queries only hear "alive", and the PRECOMMITTED participants, though
	// they would commit by themselves, do nothing.
	for range 4 {
		s.tick("TX1")
	}
	for _, id := range s.ids {
		if st := s.State(id, "TX1"); st != wire.StatePrecommitted {
			t.Fatalf("%s: %q during the delay", id, st)
		}
	}
	if d := s.SentOf(CoordID, "", wire.TypeDecision, "TX1"); len(d) != 0 {
		t.Fatalf("decision sent during the delay: %v", d)
	}
	s.Fire(CoordID, "TX1") // DO-COMMIT
	s.Run()
	s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
	if n := s.Records("A", protocol.RecCommit, "TX1"); n != 1 {
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
					s.Seed(id, "balance", "1000")
				}
				s.nodes["B"].log.manual = true
				s.Begin("TX1", opsFor(abc, add("balance", -100)))
				s.Run()
				s.Sync("B") // PREPARED: B votes YES
				s.Run()     // PRE-COMMIT everywhere; B's PRECOMMIT written, not durable
				switch w {
				case ready:
					s.Crash("B")
				case precommitted:
					s.SyncThenCrash("B")
				case precommitAckd:
					s.Sync("B")
					s.Run() // acks in: the coordinator decides; B's COMMIT written
					s.Crash("B")
				case committed:
					s.Sync("B")
					s.Run()
					s.SyncThenCrash("B") // COMMIT durable, no ack
				}
				s.nodes["B"].log.manual = false
				if restartEarly {
					s.Restart("B")
					s.Run()
				}
				// The coordinator's pre-ack timer, if it still waits: commit
				// (everyone voted YES).
				s.Fire(CoordID, "TX1")
				s.Run()
				if !restartEarly {
					s.Restart("B")
					s.Run()
				}
				for range 3 {
					s.tick("TX1")
				}
				if w == committed && s.finished["TX1"] == 0 {
					// B is not in doubt and never acked; the coordinator
					// host's session re-sends the decision (a duplicate).
					s.Post(Envelope{From: CoordID, To: "B", Msg: &wire.Decision{TxID: "TX1", Commit: true}})
					s.Run()
				}
				s.wantOutcome("TX1", wire.StateCommitted, abc...)
				s.wantBalance("900", abc...)
				for _, id := range abc {
					if n := s.Records(id, protocol.RecCommit, "TX1"); n != 1 {
						t.Errorf("%s logged COMMIT %d times", id, n)
					}
				}
				// Once more from the log: applied exactly once.
				s.Crash("B")
				s.Restart("B")
				s.Run()
				s.wantBalance("900", "B")
			})
		}
	}
}

// Lost messages on the commit path, with the coordinator alive.
func TestSim3PCLostMessages(t *testing.T) {
	tests := []struct {
		name string
		lose func(Envelope) bool
		want wire.State
	}{
		// The pre-ack timer commits; B hears DO-COMMIT from READY.
		{"PRE-COMMIT to B", Is(CoordID, "B", wire.TypePreCommit), wire.StateCommitted},
		{"B's PRE-COMMIT ack", func(e Envelope) bool {
			return Is("B", CoordID, wire.TypeAck)(e) && e.Msg.(*wire.Ack).State == wire.StatePrecommitted
		}, wire.StateCommitted},
		{"every PRE-COMMIT", Is(CoordID, "", wire.TypePreCommit), wire.StateCommitted},
		// B asks and is told.
		{"DO-COMMIT to B", Is(CoordID, "B", wire.TypeDecision), wire.StateCommitted},
		// The vote timer aborts.
		{"B's vote", Is("B", CoordID, wire.TypeVote), wire.StateAborted},
		{"CAN-COMMIT to B", Is(CoordID, "B", wire.TypePrepare), wire.StateAborted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim3(t, abc...)
			for _, id := range abc {
				s.Seed(id, "balance", "1000")
			}
			lost := 0
			s.Filter = func(e Envelope) Verdict {
				if lost == 0 && tc.lose(e) {
					lost++
					return Drop
				}
				return Deliver
			}
			s.Begin("TX1", opsFor(abc, add("balance", -100)))
			for range 4 {
				s.Run()
				s.Fire(CoordID, "TX1")
				s.Run()
				s.tick("TX1")
			}
			if lost == 0 {
				t.Fatal("nothing was lost")
			}
			if tc.name == "CAN-COMMIT to B" {
				// B never heard of it; the coordinator's courtesy ABORT
				// (or a peer's query) aborted it for good.
				if !s.nodes["B"].log.has(true, recIs(protocol.RecAbort, "TX1")) || s.Records("B", protocol.RecPrepared, "TX1") != 0 {
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
				s.Rng = rand.New(rand.NewSource(seed))
			}
			s.Filter = func(Envelope) Verdict { return Dup }
			o := map[string][]wire.Op{}
			for _, id := range abc {
				s.Seed(id, "balance", "1000")
				o[id] = ops(add("balance", -100))
			}
			if fail {
				o["B"] = ops(add("balance", -1001))
			}
			s.Begin("TX1", o)
			s.Run()
			if fail {
				s.wantOutcome("TX1", wire.StateAborted, abc...)
				s.wantBalance("1000", abc...)
			} else {
				s.wantOutcome("TX1", wire.StateCommitted, abc...)
				s.wantBalance("900", abc...)
				for _, id := range abc {
					s.wantRecords(id, "TX1", protocol.RecPrepared, protocol.RecPreCommit, protocol.RecCommit)
				}
			}
			if t.Failed() {
				t.Fatalf("seed %d fail=%v", seed, fail)
			}
		}
	}
	for _, fail := range []bool{false, true} {
		s := newSim3(t, abc...)
		s.Filter = func(Envelope) Verdict { return Hold }
		o := opsFor(abc, set("k", "v"))
		if fail {
			o["C"] = ops(add("k", -1))
		}
		s.Begin("TX1", o)
		for round := 0; round < 10 && len(s.held) > 0; round++ {
			s.Release(nil, true)
			s.Run()
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
		s.nodes[CoordID].log.manual = true
		s.Begin("TX1", opsFor(s.ids, set("k", "v")))
		s.Run()
		if n := len(s.SentOf(CoordID, "", wire.TypePreCommit, "TX1")); n != 0 {
			t.Fatal("PRE-COMMIT before PRECOMMIT was durable")
		}
		s.Sync(CoordID)
		s.Run() // PRE-COMMIT out, acks in, DECISION written, the client answered
		if len(s.SentOf(CoordID, "", wire.TypeDecision, "TX1")) != 0 {
			t.Fatal("DO-COMMIT sent before the decision was durable")
		}
		if len(s.replies) != 1 {
			t.Fatalf("client answered %d times once every participant was pre-committed, want 1 (commit is certain)", len(s.replies))
		}
		for _, id := range s.ids {
			if s.State(id, "TX1") != wire.StatePrecommitted {
				t.Fatalf("%s: %q", id, s.State(id, "TX1"))
			}
		}
		s.Sync(CoordID)
		s.Run()
		s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
	})
	t.Run("participant: no PRECOMMITTED ack before PRECOMMIT is durable", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		s.nodes["B"].log.manual = true
		s.Begin("TX1", opsFor(s.ids, set("k", "v")))
		s.Run()
		s.Sync("B")
		s.Run()
		if len(s.SentOf("B", CoordID, wire.TypeAck, "TX1")) != 0 {
			t.Fatal("B acked before PRECOMMIT was durable")
		}
		for range 3 {
			s.Sync("B")
			s.Run()
		}
		s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
	})
}
