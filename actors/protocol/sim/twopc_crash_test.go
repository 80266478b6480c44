package sim

import (
	"fmt"
	"slices"
	"testing"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// 2PC with crashes: participants and the coordinator crash and restart
// from their durable records; participants terminate cooperatively.

// A participant crashes while READY and is rebuilt from its log.
func TestSimParticipantCrashReady(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			s := New(t, abc...)
			o := map[string][]wire.Op{}
			for _, id := range abc {
				s.Seed(id, "balance", "1000")
				o[id] = ops(add("balance", -100))
			}
			if !commit {
				// C never answers: the coordinator aborts.
				s.Filter = HoldIf(Is(CoordID, "C", wire.TypePrepare))
			}
			// B crashes after voting YES, before it hears the outcome.
			s.Begin("TX1", o)
			for s.VotesYes("B", "TX1") == 0 {
				if !s.Step() {
					t.Fatal("B never voted")
				}
			}
			s.Crash("B")
			s.Run()
			if !commit {
				s.Fire(CoordID, "TX1")
				s.Run()
			}
			if s.finished["TX1"] != 0 {
				t.Fatal("finished without B's ack")
			}
			s.Restart("B")
			// In doubt: it asks at once, and keeps the key locked.
			if q := s.SentOf("B", CoordID, wire.TypeQuery, "TX1"); len(q) != 1 {
				t.Fatalf("B's queries: %d", len(q))
			}
			if s.TimersFor("B", "TX1") != 1 {
				t.Fatal("no query timer after recovery")
			}
			if s.State("B", "TX1") != wire.StateReady {
				t.Fatalf("B: %q", s.State("B", "TX1"))
			}
			if l := s.Part("B").Locked(); !slices.Equal(l, [][2]string{{"balance", "TX1"}}) {
				t.Fatalf("B locks %v", l)
			}
			s.BeginWith("TX2", []string{"B"}, map[string][]wire.Op{"B": ops(add("balance", 1))})
			for len(s.SentOf("B", CoordID, wire.TypeVote, "TX2")) == 0 {
				s.Step()
			}
			if s.State("B", "TX1") != wire.StateReady {
				t.Fatal("TX1 decided before TX2's PREPARE arrived")
			}
			if v := s.SentOf("B", CoordID, wire.TypeVote, "TX2"); len(v) != 1 || v[0].(*wire.Vote).Yes ||
				v[0].(*wire.Vote).Reason != "key balance is locked by TX1" {
				t.Fatalf("TX2 not refused while TX1 in doubt: %+v", v[0])
			}
			s.Run()
			if !commit {
				s.held = nil
			}
			want, bal := wire.StateCommitted, "900"
			if !commit {
				want, bal = wire.StateAborted, "1000"
			}
			ids := abc
			if !commit {
				ids = []string{"A", "B"}
			}
			s.wantOutcome("TX1", want, ids...)
			s.wantBalance(bal, ids...)
			// Rebuilt once more: the committed ops are applied exactly once.
			s.Crash("B")
			s.Restart("B")
			s.Run()
			s.wantBalance(bal, "B")
			if len(s.SentOf("B", CoordID, wire.TypeQuery, "TX1")) != 1 {
				t.Fatal("B asked again about a decided transaction")
			}
		})
	}
}

// The participant makes COMMIT durable and crashes before it can ack.
func TestSimParticipantCrashBeforeAck(t *testing.T) {
	s := New(t, "A", "B")
	s.Seed("A", "balance", "10")
	s.Seed("B", "balance", "10")
	s.nodes["B"].log.manual = true
	s.Begin("TX1", opsFor(s.ids, add("balance", 5)))
	s.Run()
	s.Sync("B") // PREPARED
	s.Run()     // the COMMIT for B is written, not yet durable
	s.SyncThenCrash("B")
	s.Restart("B")
	s.Run()
	s.wantBalance("15", "A", "B")
	if s.State("B", "TX1") != wire.StateCommitted {
		t.Fatal("B lost its commit")
	}
	// B had no chance to ack and is not in doubt: nothing in the machines
	// makes the coordinator send the COMMIT again, so the transaction never
	// finishes (see the report). A restarted coordinator does finish it.
	if s.finished["TX1"] != 0 {
		t.Fatal("finished without B's ack")
	}
	s.Crash(CoordID)
	s.Restart(CoordID)
	s.Run()
	if s.finished["TX1"] != 1 {
		t.Fatalf("recovered coordinator did not finish\n%s", s.Trace())
	}
	s.wantBalance("15", "A", "B")
}

// A participant crashes with PREPARED not yet durable: it forgets TX1.
func TestSimParticipantCrashPreparePending(t *testing.T) {
	s := New(t, "A", "B")
	s.nodes["B"].log.manual = true
	s.Begin("TX1", opsFor(s.ids, set("k", "v")))
	s.Run()
	s.Crash("B")
	s.nodes["B"].log.manual = false
	s.Restart("B")
	s.Run()
	if s.State("B", "TX1") != wire.StateUnknown || len(s.Part("B").Locked()) != 0 {
		t.Fatal("B remembers an unlogged PREPARE")
	}
	s.Fire(CoordID, "TX1")
	s.Run()
	s.wantOutcome("TX1", wire.StateAborted, "A", "B")
	if s.Replies("TX1")[0].Reason != "no vote from B within 1s" {
		t.Errorf("reason %q", s.Replies("TX1")[0].Reason)
	}
}

// The coordinator crashes with its decision durable, before phase two.
func TestSimCoordinatorCrashDecided(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			s := New(t, abc...)
			o := map[string][]wire.Op{}
			for _, id := range abc {
				s.Seed(id, "balance", "1000")
				o[id] = ops(add("balance", -100))
			}
			if !commit {
				o["C"] = ops(add("balance", -2000))
			}
			s.nodes[CoordID].log.manual = true
			s.Begin("TX1", o)
			s.Run()
			s.SyncThenCrash(CoordID)
			s.nodes[CoordID].log.manual = false
			if len(s.replies) != 0 {
				t.Fatal("replied")
			}
			s.Restart(CoordID)
			// The decision goes to every member again, even C that voted NO.
			if n := len(s.SentOf(CoordID, "", wire.TypeDecision, "TX1")); n != 3 {
				t.Fatalf("decision sent %d times on recovery", n)
			}
			s.Run()
			want, bal := wire.StateCommitted, "900"
			if !commit {
				want, bal = wire.StateAborted, "1000"
			}
			for _, id := range abc {
				if s.State(id, "TX1") != want {
					t.Errorf("%s: %q", id, s.State(id, "TX1"))
				}
				s.NoLocks(id)
			}
			s.wantBalance(bal, abc...)
			if s.finished["TX1"] != 1 || len(s.replies) != 0 {
				t.Fatalf("finished %d, replies %v", s.finished["TX1"], s.replies)
			}
			s.CheckAtomic("TX1")
		})
	}
}

// The coordinator crashes before its decision is durable.
func TestSimCoordinatorCrashUndecided(t *testing.T) {
	t.Run("BEGIN durable: recovery aborts", func(t *testing.T) {
		s := New(t, "A", "B")
		s.Filter = HoldIf(Is("", CoordID, wire.TypeVote))
		s.Begin("TX1", opsFor(s.ids, set("k", "v")))
		s.Run()
		s.SyncThenCrash(CoordID) // BEGIN reaches the disk
		s.held = nil             // the votes die with it
		s.Filter = nil
		s.Restart(CoordID)
		s.Run()
		for _, id := range s.ids {
			if s.State(id, "TX1") != wire.StateAborted {
				t.Errorf("%s: %q", id, s.State(id, "TX1"))
			}
			s.NoLocks(id)
		}
		if s.finished["TX1"] != 1 {
			t.Fatal("not finished")
		}
		if s.Records(CoordID, protocol.RecDecision, "TX1") != 1 {
			t.Fatal("ABORT not logged before it was sent")
		}
	})
	t.Run("nothing durable: participants ask and learn presumed abort", func(t *testing.T) {
		s := New(t, "A", "B")
		s.Filter = HoldIf(Is("", CoordID, wire.TypeVote))
		s.Begin("TX1", opsFor(s.ids, set("k", "v")))
		s.Run()
		s.Crash(CoordID)
		s.held, s.Filter = nil, nil
		s.Restart(CoordID)
		s.Run()
		for _, id := range s.ids {
			if s.State(id, "TX1") != wire.StateReady {
				t.Fatalf("%s: %q", id, s.State(id, "TX1"))
			}
			s.Fire(id, "TX1")
		}
		s.Run()
		for _, id := range s.ids {
			if s.State(id, "TX1") != wire.StateAborted {
				t.Errorf("%s: %q", id, s.State(id, "TX1"))
			}
			s.NoLocks(id)
		}
	})
	t.Run("a NO voter that restarted acks the recovered ABORT", func(t *testing.T) {
		s := New(t, "A", "B")
		s.Seed("B", "balance", "0")
		s.Filter = HoldIf(Is("", CoordID, wire.TypeVote))
		s.Begin("TX1", map[string][]wire.Op{"A": ops(set("k", "v")), "B": ops(add("balance", -1))})
		s.Run()
		s.SyncThenCrash(CoordID)
		s.SyncThenCrash("B") // B's lazy ABORT reached the disk
		s.held, s.Filter = nil, nil
		s.Restart("B")
		s.Restart(CoordID)
		s.Run()
		if s.finished["TX1"] != 1 {
			t.Fatalf("recovered coordinator never finished\n%s", s.Trace())
		}
		for _, id := range s.ids {
			if s.State(id, "TX1") != wire.StateAborted {
				t.Errorf("%s: %q", id, s.State(id, "TX1"))
			}
		}
	})
}

// 2PC's cooperative termination: a peer that knows the outcome (or never
// voted) resolves a participant in doubt; READY peers cannot, and a READY
// participant blocks until the coordinator returns.
func TestSim2PCCooperativeTermination(t *testing.T) {
	start := func(t *testing.T, filter func(Envelope) Verdict, o map[string][]wire.Op) *Sim {
		s := New(t, "A", "B")
		for _, id := range s.ids {
			s.Seed(id, "balance", "1000")
		}
		s.Filter = filter
		if o == nil {
			o = opsFor(s.ids, add("balance", -100))
		}
		s.Begin("TX1", o)
		s.Run()
		return s
	}
	t.Run("a peer committed", func(t *testing.T) {
		s := start(t, HoldIf(Is(CoordID, "B", wire.TypeDecision)), nil)
		s.Kill(CoordID)
		s.Filter = nil
		if s.State("A", "TX1") != wire.StateCommitted || s.State("B", "TX1") != wire.StateReady {
			t.Fatal("set-up")
		}
		s.settle("TX1", 2)
		s.wantAll("TX1", wire.StateCommitted)
		if r := s.TxStatus("B", "TX1").Reason; r != "learned from A" {
			t.Errorf("reason %q", r)
		}
	})
	t.Run("a peer aborted", func(t *testing.T) {
		// B's vote is late: the coordinator aborts; only A hears it.
		s := start(t, func(e Envelope) Verdict {
			if Is("B", CoordID, wire.TypeVote)(e) {
				return Hold
			}
			if Is(CoordID, "B", wire.TypeDecision)(e) {
				return Drop
			}
			return Deliver
		}, nil)
		s.Fire(CoordID, "TX1")
		s.Run()
		s.Kill(CoordID)
		s.Filter = nil
		s.settle("TX1", 2)
		s.wantAll("TX1", wire.StateAborted)
	})
	t.Run("a peer never voted", func(t *testing.T) {
		s := start(t, HoldIf(Is(CoordID, "B", wire.TypePrepare)), nil)
		s.Kill(CoordID)
		s.Filter = nil
		s.settle("TX1", 2)
		s.wantAll("TX1", wire.StateAborted)
		if r := s.TxStatus("B", "TX1").Reason; r != "asked by A before it was prepared here" {
			t.Errorf("B's reason %q", r)
		}
		// That ABORT was forced: after a restart, the PREPARE that was
		// still on its way gets a NO.
		s.Crash("B")
		s.Restart("B")
		s.Post(Envelope{From: CoordID, To: "B", Msg: &wire.Prepare{TxID: "TX1", Protocol: wire.TwoPC,
			Ops: ops(add("balance", -100)), Coord: CoordID, CoordAddr: CoordAddr, Members: s.Members(s.ids)}})
		s.Run()
		if v := s.SentOf("B", CoordID, wire.TypeVote, "TX1"); len(v) != 1 || v[0].(*wire.Vote).Yes {
			t.Fatalf("B's late vote %v", v)
		}
		s.wantAll("TX1", wire.StateAborted)
	})
	t.Run("all READY: blocked until the coordinator returns", func(t *testing.T) {
		s := start(t, HoldIf(Is(CoordID, "", wire.TypeDecision)), nil)
		if s.Records(CoordID, protocol.RecDecision, "TX1") != 1 {
			t.Fatal("COMMIT not durable")
		}
		s.Kill(CoordID)
		s.Filter = nil
		for range 50 {
			s.tick("TX1")
		}
		for _, id := range s.ids {
			if st := s.State(id, "TX1"); st != wire.StateReady {
				t.Fatalf("%s: %q after 50 rounds; 2PC must block", id, st)
			}
			if l := s.Part(id).Locked(); len(l) != 1 {
				t.Fatalf("%s locks %v", id, l)
			}
			// Tick 1 asks only the coordinator; the other 49 ask it and the peer.
			if n := len(s.SentOf(id, "", wire.TypeQuery, "TX1")); n != 99 {
				t.Fatalf("%s asked %d times", id, n)
			}
		}
		for _, id := range s.ids {
			if n := len(s.SentOf(id, "", wire.TypeDecision, "TX1")) + len(s.SentOf(id, "", wire.TypePreCommit, "TX1")); n != 0 {
				t.Fatalf("%s sent %d decisions", id, n)
			}
		}
		s.wantBalance("1000", s.ids...)
		// The coordinator returns with its COMMIT.
		s.Restart(CoordID)
		s.Run()
		s.wantAll("TX1", wire.StateCommitted)
		if s.finished["TX1"] != 1 {
			t.Fatal("not finished")
		}
	})
	t.Run("all READY, coordinator undecided: presumed abort when it returns", func(t *testing.T) {
		s := start(t, HoldIf(Is("", CoordID, wire.TypeVote)), nil)
		s.Kill(CoordID)
		s.Filter = nil
		for range 10 {
			s.tick("TX1")
		}
		if s.State("A", "TX1") != wire.StateReady || s.State("B", "TX1") != wire.StateReady {
			t.Fatal("decided without the coordinator")
		}
		s.Restart(CoordID) // nothing durable: presumed abort
		s.settle("TX1", 1)
		s.wantAll("TX1", wire.StateAborted)
	})
}
