package sim

import (
	"testing"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// PARALLEL: the members' durable votes decide; the coordinator only
// reports.

func newSimParallel(t testing.TB, ids ...string) *Sim {
	s := New(t, ids...)
	s.Proto = wire.Parallel
	for _, id := range ids {
		s.Seed(id, "balance", "1000")
	}
	return s
}

// coordDiesAfter begins tx (every member adds -100 to balance) with the
// messages lost chosen have verdict v, runs it until nothing moves, and
// kills the coordinator.
func (s *Sim) coordDiesAfter(tx string, lost func(Envelope) bool, v Verdict) {
	s.Filter = func(e Envelope) Verdict {
		if lost(e) {
			return v
		}
		return Deliver
	}
	s.Begin(tx, opsFor(abc, add("balance", -100)))
	s.Run()
	s.Kill(CoordID)
	s.Filter = nil
}

// wantStates checks that every member holds tx in state st.
func (s *Sim) wantStates(tx string, st wire.State) {
	s.t.Helper()
	for _, id := range s.ids {
		if got := s.State(id, tx); got != st {
			s.t.Errorf("%s: %s is %q, want %q", id, tx, got, st)
		}
	}
}

// votesAndCsPrepare: every message to the coordinator, and C's PREPARE.
func votesAndCsPrepare(e Envelope) bool {
	return e.To == CoordID || (e.To == "C" && e.Msg.Type() == wire.TypePrepare)
}

// The client hears COMMITTED although the coordinator never syncs its log:
// nothing it forces is on the commit path.
func TestSimParallelCommitWithoutCoordinatorSync(t *testing.T) {
	s := newSimParallel(t, abc...)
	s.SetManualSync(CoordID, true)
	s.Begin("TX1", opsFor(abc, add("balance", -100)))
	s.Run()
	if r := s.Replies("TX1"); len(r) != 1 || r[0].Outcome != wire.StateCommitted {
		t.Fatalf("replies %+v, want one COMMITTED", r)
	}
	if d := s.Durable(CoordID); len(d) != 0 {
		t.Errorf("the coordinator's log has durable records %+v", d)
	}
	s.wantStates("TX1", wire.StateCommitted)
	s.wantBalance("900", abc...)
	// END is forced once every member acked; only then may they forget.
	if n := s.FlushForget(); n != 0 {
		t.Errorf("%d Forget sent before END was durable", n)
	}
	s.Sync(CoordID)
	s.Run()
	if s.finished["TX1"] != 1 {
		t.Errorf("finished %d times", s.finished["TX1"])
	}
	s.CheckAtomic("TX1")
	s.CheckTold("TX1")
	if n := s.FlushForget(); n != 1 {
		t.Fatalf("%d Forget timers once END was durable, want 1", n)
	}
	s.Run()
	s.wantStates("TX1", wire.StateUnknown) // forgotten
}

// A NO is forced before it is sent, and aborts.
func TestSimParallelNo(t *testing.T) {
	s := newSimParallel(t, abc...)
	o := opsFor(abc, add("balance", -100))
	o["B"] = ops(add("balance", -5000))
	s.Begin("TX1", o)
	s.Run()
	s.wantOutcome("TX1", wire.StateAborted, abc...)
	s.wantBalance("1000", abc...)
}

// The coordinator dies once every vote is out: the members finish alone,
// by asking each other, and commit.
func TestSimParallelCoordinatorDiesAfterVotes(t *testing.T) {
	s := newSimParallel(t, abc...)
	s.coordDiesAfter("TX1", func(e Envelope) bool { return e.To == CoordID }, Drop)
	if n := s.settle("TX1", 3); n != 1 {
		t.Errorf("settled in %d rounds, want 1", n)
	}
	for _, id := range abc {
		if st := s.State(id, "TX1"); st != wire.StateCommitted {
			t.Errorf("%s: %q, want COMMITTED", id, st)
		}
		s.NoLocks(id)
	}
	s.wantBalance("900", abc...)
	// The restarted coordinator learns the outcome from them; a retry of
	// the id gets it and runs nothing again.
	s.Restart(CoordID)
	s.Run()
	s.Begin("TX1", opsFor(abc, add("balance", -100)))
	s.Run()
	a := s.ClientAnswers()
	if r, ok := a[len(a)-1].(*wire.StartResult); !ok || r.Outcome != wire.StateCommitted {
		t.Errorf("the retry was told %+v, want COMMITTED", a[len(a)-1])
	}
	s.wantBalance("900", abc...)
	s.CheckAtomic("TX1")
	s.CheckTold("TX1")
}

// The coordinator dies before C got its PREPARE: the others ask C, which
// durably refuses, and they abort; C votes NO to the PREPARE when it comes.
func TestSimParallelRefusal(t *testing.T) {
	s := newSimParallel(t, abc...)
	s.coordDiesAfter("TX1", votesAndCsPrepare, Hold)
	s.settle("TX1", 3)
	s.wantStates("TX1", wire.StateAborted)
	if s.Records("C", protocol.RecPrepared, "TX1") != 0 {
		t.Error("C prepared after refusing")
	}
	s.Release(func(Envelope) bool { return true }, false)
	s.Run()
	if st := s.State("C", "TX1"); st != wire.StateAborted {
		t.Errorf("C: %q after the late PREPARE", st)
	}
	s.wantBalance("1000", abc...)
	s.CheckAtomic("TX1")
}

// C's YES is lost and the vote timer fires: the coordinator asks C, whose
// YES was durable, and the transaction commits after all.
func TestSimParallelLateVoteCommits(t *testing.T) {
	s := newSimParallel(t, abc...)
	s.Filter = func(e Envelope) Verdict {
		if e.From == "C" && e.Msg.Type() == wire.TypeVote {
			return Drop
		}
		return Deliver
	}
	s.Begin("TX1", opsFor(abc, add("balance", -100)))
	s.Run()
	if len(s.Replies("TX1")) != 0 {
		t.Fatal("decided without C's vote")
	}
	s.Fire(CoordID, "TX1")
	s.Run()
	s.wantOutcome("TX1", wire.StateCommitted, abc...)
	s.wantBalance("900", abc...)
}

// A member that is down is waited for, never presumed: Unreachable does
// not abort, and the vote timer asks again until it answers.
func TestSimParallelMemberDownBlocks(t *testing.T) {
	s := newSimParallel(t, abc...)
	s.Crash("C")
	s.Begin("TX1", opsFor(abc, add("balance", -100)))
	s.Run()
	if eff := s.Coordinator().Unreachable("TX1", "C", "connection refused"); len(eff) != 0 {
		t.Errorf("Unreachable: %v", protocol.Kinds(eff))
	}
	for range 3 {
		s.Fire(CoordID, "TX1")
		s.tick("TX1")
	}
	if len(s.Replies("TX1")) != 0 || s.State("A", "TX1") != wire.StateReady {
		t.Fatalf("decided while C was down: %+v, A %q", s.Replies("TX1"), s.State("A", "TX1"))
	}
	s.Restart("C")
	s.Fire(CoordID, "TX1")
	s.Run()
	s.settle("TX1", 2)
	s.wantStates("TX1", wire.StateAborted)
	s.CheckAtomic("TX1")
	s.CheckTold("TX1")
}

// No partition splits the outcome. 3PC's counter-example (the coordinator
// dies, {A} | {B, C}) leaves PARALLEL's sides in doubt while C's vote is
// unknown to A, and one outcome once they hear each other.
func TestSimParallelPartition(t *testing.T) {
	s := newSimParallel(t, abc...)
	s.coordDiesAfter("TX1", votesAndCsPrepare, Drop)
	s.Split([]string{"A"}, []string{"B", "C"})
	for range 3 {
		s.tick("TX1")
	}
	if st := s.State("A", "TX1"); st != wire.StateReady {
		t.Errorf("A alone: %q, want READY (in doubt)", st)
	}
	s.CheckAtomic("TX1")
	s.Heal()
	s.settle("TX1", 3)
	s.wantStates("TX1", wire.StateAborted)
	s.CheckAtomic("TX1")
}
