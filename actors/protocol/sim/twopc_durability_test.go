package sim

import (
	"testing"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// 2PC with logs that are slow to sync: nothing leaves a node before the
// record it depends on is durable, and late or stray messages change nothing.

// Persist before send, with forced writes completed late.
func TestSimPersistBeforeSend(t *testing.T) {
	t.Run("no YES before PREPARED is durable", func(t *testing.T) {
		s := New(t, "A", "B")
		s.nodes["B"].log.manual = true
		s.Begin("TX1", opsFor(s.ids, set("k", "v")))
		s.Run()
		if s.VotesYes("B", "TX1") != 0 || s.VotesYes("A", "TX1") != 1 {
			t.Fatalf("votes: %s", s.Trace())
		}
		if len(s.Part("B").Locked()) != 1 {
			t.Fatal("B did not lock at PREPARE")
		}
		s.Sync("B")
		s.Run() // the COMMIT for B is written but not durable: no ack
		if s.State("B", "TX1") != wire.StateReady || len(s.SentOf("B", "", wire.TypeAck, "TX1")) != 0 {
			t.Fatalf("B acked before COMMIT durable:\n%s", s.Trace())
		}
		if s.finished["TX1"] != 0 {
			t.Fatal("finished before B's ack")
		}
		s.Sync("B")
		s.Run()
		s.wantOutcome("TX1", wire.StateCommitted, "A", "B")
	})
	t.Run("no decision, no reply before the decision is durable", func(t *testing.T) {
		s := New(t, "A", "B")
		s.nodes[CoordID].log.manual = true
		s.Begin("TX1", opsFor(s.ids, set("k", "v")))
		s.Run()
		if len(s.SentOf(CoordID, "", wire.TypeDecision, "TX1")) != 0 || len(s.replies) != 0 {
			t.Fatalf("sent before durable:\n%s", s.Trace())
		}
		// A participant asking meanwhile is told only that the coordinator
		// is alive and undecided (INIT), and stays READY.
		s.Fire("A", "TX1")
		s.Run()
		if len(s.SentOf("A", CoordID, wire.TypeQuery, "TX1")) != 1 || s.State("A", "TX1") != wire.StateReady {
			t.Fatal("A's query went unexpectedly")
		}
		if r := s.SentOf(CoordID, "A", wire.TypeQueryReply, "TX1"); len(r) != 1 || r[0].(*wire.QueryReply).State != wire.StateInit ||
			len(s.SentOf(CoordID, "A", wire.TypeDecision, "TX1")) != 0 {
			t.Fatalf("undecided coordinator answered %v", r)
		}
		s.Sync(CoordID)
		s.Run()
		s.wantOutcome("TX1", wire.StateCommitted, "A", "B")
	})
	t.Run("delay: reply at once, decision after the timer", func(t *testing.T) {
		s := New(t, "A", "B")
		s.Cfg.Delay = 3 * time.Second
		s.Begin("TX1", opsFor(s.ids, set("k", "v")))
		s.Run()
		if r := s.Replies("TX1"); len(r) != 1 || r[0].Outcome != wire.StateCommitted {
			t.Fatalf("replies %+v", r)
		}
		if len(s.SentOf(CoordID, "", wire.TypeDecision, "TX1")) != 0 {
			t.Fatal("decision sent during the delay")
		}
		for _, id := range s.ids {
			if s.State(id, "TX1") != wire.StateReady {
				t.Fatalf("%s not READY during the delay", id)
			}
		}
		// Two coordinator timers: the void vote timer and the delay.
		if tms := s.TimersFor(CoordID, "TX1"); tms != 2 {
			t.Fatalf("%d timers", tms)
		}
		s.Fire(CoordID, "TX1")
		s.Run()
		s.wantOutcome("TX1", wire.StateCommitted, "A", "B")
	})
	t.Run("delay: a participant that asks meanwhile is not told; after it, it is", func(t *testing.T) {
		s := New(t, "A", "B")
		s.Cfg.Delay = 3 * time.Second
		s.Begin("TX1", opsFor(s.ids, set("k", "v")))
		s.Run()
		// The delay withholds the decision from queries too: the
		// coordinator only says it is alive.
		s.Fire("A", "TX1")
		s.Run()
		if s.State("A", "TX1") != wire.StateReady || s.State("B", "TX1") != wire.StateReady {
			t.Fatal("the decision leaked during the delay")
		}
		if d := s.SentOf(CoordID, "A", wire.TypeDecision, "TX1"); len(d) != 0 {
			t.Fatalf("decision sent during the delay: %v", d)
		}
		if r := s.SentOf(CoordID, "A", wire.TypeQueryReply, "TX1"); len(r) != 1 {
			t.Fatalf("query not answered: %v", r)
		}
		if s.finished["TX1"] != 0 {
			t.Fatal("finished during the delay")
		}
		// Phase two begins; A's COMMIT is lost, so A asks, and now it is told.
		s.Filter = func(e Envelope) Verdict {
			if Is(CoordID, "A", wire.TypeDecision)(e) && len(s.SentOf(CoordID, "A", wire.TypeDecision, "TX1")) == 1 {
				return Drop
			}
			return Deliver
		}
		s.Fire(CoordID, "TX1")
		s.Run()
		if s.State("A", "TX1") != wire.StateReady || s.State("B", "TX1") != wire.StateCommitted {
			t.Fatal("set-up")
		}
		s.Fire("A", "TX1")
		s.Run()
		s.wantOutcome("TX1", wire.StateCommitted, "A", "B")
		if c := s.Records("A", protocol.RecCommit, "TX1"); c != 1 {
			t.Errorf("A logged COMMIT %d times", c)
		}
	})
}

// ABORT reaches C while its PREPARED is still being written: C must never
// vote YES (it releases the lock when it logs the ABORT).
func TestSimAbortWhilePreparedPending(t *testing.T) {
	s := New(t, abc...)
	s.nodes["C"].log.manual = true
	s.Begin("TX1", opsFor(abc, set("k", "v")))
	s.Run()
	s.Fire(CoordID, "TX1")
	s.Run()
	if len(s.SentOf(CoordID, "C", wire.TypeDecision, "TX1")) != 1 {
		t.Fatal("no ABORT to C")
	}
	if l := s.Part("C").Locked(); len(l) != 0 {
		t.Fatalf("C still locked after logging ABORT: %v", l)
	}
	s.Sync("C") // PREPARED and ABORT become durable together
	s.Run()
	s.Fire("C", "TX1")
	s.Run()
	if n := s.VotesYes("C", "TX1"); n != 0 {
		t.Fatalf("C voted YES %d times after ABORT", n)
	}
	s.wantOutcome("TX1", wire.StateAborted, abc...)
	// And after a restart: still aborted, still unlocked.
	s.Crash("C")
	s.Restart("C")
	s.Run()
	if s.State("C", "TX1") != wire.StateAborted || len(s.SentOf("C", "", wire.TypeQuery, "TX1")) != 0 {
		t.Fatal("C in doubt after restart")
	}
	s.NoLocks("C")
}

// The ABORT overtakes the PREPARE: the late PREPARE must get a NO.
func TestSimLatePrepare(t *testing.T) {
	s := New(t, abc...)
	s.Filter = HoldIf(Is(CoordID, "C", wire.TypePrepare))
	s.Begin("TX1", opsFor(abc, set("k", "v")))
	s.Run()
	s.Fire(CoordID, "TX1")
	s.Run()
	if s.State("C", "TX1") != wire.StateAborted {
		t.Fatal("C did not record the ABORT")
	}
	s.Release(nil, false)
	s.Run()
	votes := s.SentOf("C", CoordID, wire.TypeVote, "TX1")
	if len(votes) != 1 || votes[0].(*wire.Vote).Yes {
		t.Fatalf("C's votes: %+v", votes)
	}
	s.NoLocks("C")
	s.wantOutcome("TX1", wire.StateAborted, abc...)
}

// Decisions and acks for transactions nobody knows.
func TestSimUnknownTransaction(t *testing.T) {
	s := New(t, "A")
	// Injected straight onto the network: the coordinator has no record
	// of these.
	s.Post(Envelope{From: CoordID, To: "A", Msg: &wire.Decision{TxID: "GHOST", Commit: true}})
	s.Post(Envelope{From: CoordID, To: "A", Msg: &wire.Decision{TxID: "GONE", Reason: "presumed abort"}})
	s.Post(Envelope{From: CoordID, To: "A", Msg: &wire.Decision{TxID: "GONE", Reason: "presumed abort"}})
	s.Run()
	acks := s.SentOf("A", CoordID, wire.TypeAck, "GHOST")
	if len(acks) != 1 || acks[0].(*wire.Ack).State != wire.StateUnknown {
		t.Fatalf("GHOST acks %+v", acks)
	}
	acks = s.SentOf("A", CoordID, wire.TypeAck, "GONE")
	if len(acks) != 2 || acks[0].(*wire.Ack).State != wire.StateAborted || acks[1].(*wire.Ack).State != wire.StateAborted {
		t.Fatalf("GONE acks %+v", acks)
	}
	if s.Records("A", protocol.RecAbort, "GONE") != 0 || len(s.nodes["A"].log.buf) != 1 {
		t.Fatal("want one lazy ABORT for GONE")
	}
	// The coordinator ignores acks and votes for transactions it does not
	// know (the host drops them), and answers a query with presumed abort.
	s.Post(Envelope{From: "A", To: CoordID, Msg: &wire.Ack{TxID: "GONE", From: "A", State: wire.StateAborted}})
	s.Post(Envelope{From: "A", To: CoordID, Msg: &wire.Query{TxID: "NEVER", From: "A"}})
	s.Run()
	if d := s.SentOf(CoordID, "A", wire.TypeDecision, "NEVER"); len(d) != 1 || d[0].(*wire.Decision).Commit {
		t.Fatalf("query answered %+v", d)
	}
	if s.State("A", "GHOST") != wire.StateUnknown || s.State("A", "GONE") != wire.StateAborted {
		t.Fatal("states")
	}
}
