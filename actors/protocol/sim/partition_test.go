package sim

import (
	"testing"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// 3PC cut apart: a network split, and the late, duplicated and stale
// messages of a coordinator that was cut off while the participants
// terminated without it.

// THE PARTITION. Three participants; the coordinator dies after PRE-COMMIT
// reached only A. Then the network splits {A} | {B, C} and each side runs
// the termination protocol: A, PRECOMMITTED and alone, commits; B leads
// {B, C}, all READY, and aborts. The transaction is committed on one side
// and aborted on the other. This is 3PC's known unsafety under network
// partitions (the termination protocol takes silence for a crash), which
// docs/protocols.md, "Why 3PC is not safe under partitions", documents. Without the
// split, the very same starting state converges to one outcome.
func TestSim3PCPartition(t *testing.T) {
	start := func(t *testing.T) *Sim {
		s := newSim3(t, abc...)
		for _, id := range abc {
			s.Seed(id, "balance", "1000")
		}
		s.Filter = func(e Envelope) Verdict {
			if e.From == CoordID && e.Msg.Type() == wire.TypePreCommit && e.To != "A" {
				return Drop
			}
			return Deliver
		}
		s.Begin("TX1", opsFor(abc, add("balance", -100)))
		for s.State("A", "TX1") != wire.StatePrecommitted {
			if !s.Step() {
				t.Fatal("A never pre-committed")
			}
		}
		s.Kill(CoordID)
		s.Filter = nil
		s.Run()
		want := map[string]wire.State{"A": wire.StatePrecommitted, "B": wire.StateReady, "C": wire.StateReady}
		for id, st := range want {
			if got := s.State(id, "TX1"); got != st {
				t.Fatalf("start: %s is %q, want %q", id, got, st)
			}
		}
		return s
	}

	t.Run("split {A} | {B, C}: the sides decide differently", func(t *testing.T) {
		s := start(t)
		s.Split([]string{"A"}, []string{"B", "C"})
		s.settle("TX1", 5)
		a, b, c := s.State("A", "TX1"), s.State("B", "TX1"), s.State("C", "TX1")
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
		if got := s.Store("A")["balance"]; got != "900" {
			t.Errorf("A balance %q: A applied the transaction", got)
		}
		s.wantBalance("1000", "B", "C")
		if r := s.TxStatus("A", "TX1").Reason; r != "termination protocol, led by A: A was pre-committed" {
			t.Errorf("A's reason %q", r)
		}
		if r := s.TxStatus("B", "TX1").Reason; r != "termination protocol, led by B: nobody was pre-committed" {
			t.Errorf("B's reason %q", r)
		}
		// C followed B's announcement; A's never crossed the split.
		if d := s.SentOf("B", "C", wire.TypeDecision, "TX1"); len(d) != 1 || d[0].(*wire.Decision).Commit {
			t.Errorf("B announced %v to C", d)
		}
		// Healing the network repairs nothing: everyone is final and
		// asks nobody any more; even the other side's late announcement
		// is only acknowledged.
		s.Heal()
		for range 3 {
			s.tick("TX1")
		}
		s.Post(Envelope{From: "B", To: "A", Msg: &wire.Decision{TxID: "TX1", Reason: "late"}})
		s.Post(Envelope{From: "A", To: "B", Msg: &wire.Decision{TxID: "TX1", Commit: true, Reason: "late"}})
		s.Run()
		if s.State("A", "TX1") != wire.StateCommitted || s.State("B", "TX1") != wire.StateAborted {
			t.Error("a final state changed")
		}
		for _, id := range abc {
			s.NoLocks(id)
		}
	})

	t.Run("no split: one outcome", func(t *testing.T) {
		s := start(t)
		s.settle("TX1", 6)
		// A leads, pre-commits B and C, then commits everywhere.
		s.wantAll("TX1", wire.StateCommitted)
		for _, id := range []string{"B", "C"} {
			if p := s.SentOf("A", id, wire.TypePreCommit, "TX1"); len(p) == 0 {
				t.Errorf("A never pre-committed %s", id)
			}
			s.wantRecords(id, "TX1", protocol.RecPrepared, protocol.RecPreCommit, protocol.RecCommit)
		}
		s.Restart(CoordID)
		s.Run()
		if s.finished["TX1"] != 1 {
			t.Fatalf("recovered coordinator did not finish\n%s", s.Trace())
		}
		s.wantAll("TX1", wire.StateCommitted)
	})
}

// Late, duplicated and stale messages around a coordinator that was cut
// off (alive, but its messages were delayed) while the participants ran the
// termination protocol.
func TestSim3PCStaleMessages(t *testing.T) {
	t.Run("a stale PRE-COMMIT after a termination abort is acked ABORTED; the coordinator aborts", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		for _, id := range s.ids {
			s.Seed(id, "balance", "1000")
		}
		// Everything the coordinator sends after CAN-COMMIT is delayed, and
		// so are the acks of the participants' outcome.
		s.Filter = func(e Envelope) Verdict {
			if e.From == CoordID && e.Msg.Type() != wire.TypePrepare || isFinalAck(e) {
				return Hold
			}
			return Deliver
		}
		s.Begin("TX1", opsFor(s.ids, add("balance", -100)))
		s.Run()
		if s.Coord("TX1").Outcome() != wire.StatePrecommitted {
			t.Fatal("coordinator not pre-committed")
		}
		s.settle("TX1", 3) // its "alive" answers are delayed too
		s.wantAll("TX1", wire.StateAborted)
		if s.Coord("TX1").Outcome() != wire.StatePrecommitted {
			t.Fatal("coordinator moved on")
		}
		// Now the coordinator's PRE-COMMITs arrive.
		s.Filter = nil
		if s.Release(Is(CoordID, "", wire.TypePreCommit), false) != 2 {
			t.Fatal("PRE-COMMITs not held")
		}
		s.Run()
		for _, id := range s.ids {
			// The termination's ack (held), the PRE-COMMIT's, maybe the
			// coordinator's ABORT's: all ABORTED.
			acks := s.SentOf(id, CoordID, wire.TypeAck, "TX1")
			if len(acks) < 2 {
				t.Errorf("%s acked %d times", id, len(acks))
			}
			for _, a := range acks {
				if a.(*wire.Ack).State != wire.StateAborted {
					t.Errorf("%s acked %+v", id, a)
				}
			}
		}
		if r := s.Replies("TX1"); len(r) != 1 || r[0].Outcome != wire.StateAborted ||
			r[0].Reason != "A: aborted by the termination protocol" {
			t.Fatalf("coordinator replied %+v", r)
		}
		// The rest: its old answers, the termination's acks.
		s.Release(nil, false)
		s.Run()
		s.wantOutcome("TX1", wire.StateAborted, s.ids...)
		s.wantAll("TX1", wire.StateAborted)
	})

	t.Run("a stale PRE-COMMIT after a termination commit is acked COMMITTED; the coordinator commits", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		for _, id := range s.ids {
			s.Seed(id, "balance", "1000")
		}
		// PRE-COMMIT reaches A; the rest of what the coordinator sends
		// (PRE-COMMIT to B, its answers) is delayed, and so are the acks of
		// the participants' outcome.
		s.Filter = func(e Envelope) Verdict {
			if e.From == CoordID && e.Msg.Type() != wire.TypePrepare && !(e.To == "A" && e.Msg.Type() == wire.TypePreCommit) ||
				isFinalAck(e) {
				return Hold
			}
			return Deliver
		}
		s.Begin("TX1", opsFor(s.ids, add("balance", -100)))
		s.Run()
		if s.State("A", "TX1") != wire.StatePrecommitted || s.State("B", "TX1") != wire.StateReady {
			t.Fatal("set-up")
		}
		s.settle("TX1", 5)
		s.wantAll("TX1", wire.StateCommitted)
		if s.Coord("TX1").Outcome() != wire.StatePrecommitted {
			t.Fatal("coordinator moved on")
		}
		s.Filter = nil
		if s.Release(Is(CoordID, "B", wire.TypePreCommit), false) != 1 {
			t.Fatal("PRE-COMMIT to B not held")
		}
		s.Run()
		if a := s.SentOf("B", CoordID, wire.TypeAck, "TX1"); len(a) < 2 || a[1].(*wire.Ack).State != wire.StateCommitted {
			t.Fatalf("B acked %d times", len(a))
		}
		if r := s.Replies("TX1"); len(r) != 1 || r[0].Outcome != wire.StateCommitted {
			t.Fatalf("coordinator replied %+v", r)
		}
		s.Release(nil, false)
		s.Run()
		// Its DO-COMMIT came late to participants that had committed: they
		// ack again; the store changed once.
		s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
		s.wantAll("TX1", wire.StateCommitted)
	})

	t.Run("late DO-COMMIT after the termination protocol committed", func(t *testing.T) {
		s := newSim3(t, "A", "B")
		for _, id := range s.ids {
			s.Seed(id, "balance", "1000")
		}
		s.Filter = HoldIf(Is(CoordID, "", wire.TypeDecision))
		s.Begin("TX1", opsFor(s.ids, add("balance", -100)))
		s.Run()
		// Decided and durable, but DO-COMMIT is delayed; the coordinator
		// then dies, and the participants commit by themselves.
		s.Crash(CoordID)
		s.settle("TX1", 3)
		s.wantAll("TX1", wire.StateCommitted)
		// The old DO-COMMITs arrive, twice.
		s.Filter = func(Envelope) Verdict { return Dup }
		s.Release(nil, false)
		s.Run()
		s.wantAll("TX1", wire.StateCommitted)
		for _, id := range s.ids {
			if n := len(s.SentOf(id, CoordID, wire.TypeAck, "TX1")); n < 3 {
				t.Errorf("%s acked %d times", id, n)
			}
		}
	})

	t.Run("duplicate and stale query replies", func(t *testing.T) {
		s := newSim3(t, abc...)
		for _, id := range abc {
			s.Seed(id, "balance", "1000")
		}
		s.Filter = func(e Envelope) Verdict {
			if e.From == CoordID && e.Msg.Type() == wire.TypePreCommit && e.To != "B" {
				return Drop
			}
			return Deliver
		}
		s.Begin("TX1", opsFor(abc, add("balance", -100)))
		s.Run()
		s.Kill(CoordID)
		// Every reply three times; the READY ones also kept to be
		// delivered again later, out of their round.
		var stale []Envelope
		s.Filter = func(e Envelope) Verdict {
			if r, ok := e.Msg.(*wire.QueryReply); ok {
				if r.State == wire.StateReady {
					stale = append(stale, e)
				}
				s.Inject(e)
				return Dup
			}
			return Deliver
		}
		s.settle("TX1", 6)
		s.wantAll("TX1", wire.StateCommitted)
		for _, e := range stale {
			s.Post(e)
		}
		s.Run()
		s.wantAll("TX1", wire.StateCommitted)
	})
}
