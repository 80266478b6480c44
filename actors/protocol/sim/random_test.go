package sim

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// Seeded random runs: many transactions, random delivery order, losses,
// duplicates and coordinator crashes; the invariants must hold throughout.

// Random schedules: reordering, duplication and random timer firing, two
// concurrent transactions on the same key. Nothing is lost, so everything
// must finish, atomically, with every commit applied exactly once.
func TestSimRandomNoLoss(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		runRandom(t, seed, false)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

// Random schedules with message loss and crashes of any node. Safety must
// hold throughout, and once the network heals every participant learns the
// outcome (by asking) and releases its locks.
func TestSimRandomChaos(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		runRandom(t, seed, true)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

func runRandom(t *testing.T, seed int64, chaos bool) {
	rng := rand.New(rand.NewSource(seed))
	s := New(t, abc...)
	s.Rng = rng
	if rng.Intn(3) == 0 {
		s.Cfg.Delay = time.Second
	}
	for _, id := range abc {
		s.Seed(id, "balance", "1000")
	}
	lossy := true
	s.Filter = func(Envelope) Verdict {
		switch r := rng.Intn(20); {
		case r < 2:
			return Dup
		case r < 4 && chaos && lossy:
			return Drop
		}
		return Deliver
	}
	txs := []struct {
		id    string
		delta int64
	}{{"TX1", -100}, {"TX2", -200}}
	started := 0
	startNext := func() {
		tx := txs[started]
		started++
		o := opsFor(abc, add("balance", tx.delta))
		if rng.Intn(4) == 0 { // sometimes one participant refuses
			o[abc[rng.Intn(3)]] = ops(add("balance", -5000))
		}
		if s.nodes[CoordID].up {
			s.Begin(tx.id, o)
		}
	}
	startNext()
	anyTimer := func() bool { return s.fireAny(rng) }
	for i := 0; i < 300; i++ {
		r := rng.Intn(100)
		switch {
		case r < 3 && started < len(txs):
			startNext()
		case r < 10:
			anyTimer()
		case r < 13 && chaos:
			id := append([]string{CoordID}, abc...)[rng.Intn(4)]
			if s.nodes[id].up {
				s.Crash(id)
			} else {
				s.Restart(id)
			}
		default:
			s.Step()
		}
	}
	for started < len(txs) {
		startNext()
	}
	// Heal: everyone up, no more loss; let timers drive the rest.
	lossy = false
	for _, id := range append([]string{CoordID}, abc...) {
		if !s.nodes[id].up {
			s.Restart(id)
		}
	}
	for round := 0; round < 50; round++ {
		s.Run()
		if !anyTimer() {
			break
		}
	}
	s.Run()
	// Every participant knows a final outcome of each transaction it voted
	// YES on, and holds no lock.
	for _, tx := range txs {
		s.CheckAtomic(tx.id)
		for _, id := range abc {
			if st := s.final(id, tx.id); st == wire.StateReady {
				t.Errorf("%s still in doubt on %s", id, tx.id)
			}
		}
	}
	want := int64(1000)
	for _, tx := range txs {
		committed := false
		for _, id := range abc {
			if s.final(id, tx.id) == wire.StateCommitted {
				committed = true
			}
		}
		if committed {
			want += tx.delta
		}
		for _, r := range s.Replies(tx.id) {
			// Replied COMMITTED must mean every participant committed.
			if r.Outcome == wire.StateCommitted {
				for _, id := range abc {
					if s.final(id, tx.id) != wire.StateCommitted {
						t.Errorf("%s replied COMMITTED but %s is %q", tx.id, id, s.final(id, tx.id))
					}
				}
			}
		}
		if !chaos && s.finished[tx.id] != 1 {
			t.Errorf("%s finished %d times without loss", tx.id, s.finished[tx.id])
		}
	}
	for _, id := range abc {
		s.NoLocks(id)
		s.wantBalance(fmt.Sprint(want), id)
	}
	if t.Failed() {
		t.Logf("trace:\n%s", s.Trace())
	}
}

// fireAny fires one live timer chosen by rng; false if none is armed.
func (s *Sim) fireAny(rng *rand.Rand) bool {
	var live []timer
	for _, tm := range s.timers {
		if s.live(tm) {
			live = append(live, tm)
		}
	}
	if len(live) == 0 {
		return false
	}
	s.fireTimer(live[rng.Intn(len(live))])
	return true
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
	s.Rng = rng
	if rng.Intn(3) == 0 {
		s.Cfg.Delay = time.Second
	}
	for _, id := range ids {
		s.Seed(id, "balance", "1000")
	}
	s.Filter = func(Envelope) Verdict {
		if rng.Intn(10) == 0 {
			return Dup
		}
		return Deliver
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
		s.Begin(tx.id, o)
	}
	crashes := 1 + rng.Intn(2)
	crashOdds := 20 + rng.Intn(100)
	quiet := func() {
		// A quiet network: the coordinator's timers, then every
		// participant's round, then maybe the coordinator comes back.
		for _, tx := range txs {
			if s.nodes[CoordID].up {
				s.Fire(CoordID, tx.id)
			}
		}
		s.Run()
		for _, tx := range txs {
			s.tick(tx.id)
		}
		if !s.nodes[CoordID].up && rng.Intn(3) == 0 {
			s.Restart(CoordID)
		}
	}
	for i := 0; i < 400; i++ {
		if crashes > 0 && s.nodes[CoordID].up && rng.Intn(crashOdds) == 0 {
			s.Kill(CoordID)
			crashes--
		}
		if !s.Step() {
			quiet()
		}
	}
	if !s.nodes[CoordID].up {
		s.Restart(CoordID)
	}
	for range 10 {
		s.Run()
		quiet()
	}
	want := int64(1000)
	for _, tx := range txs {
		s.CheckAtomic(tx.id)
		committed := false
		for _, id := range ids {
			st := s.State(id, tx.id)
			if st == wire.StateReady || st == wire.StatePrecommitted {
				t.Errorf("%s still in doubt on %s", id, tx.id)
			}
			if st == wire.StateCommitted {
				committed = true
				if c := s.Records(id, protocol.RecCommit, tx.id); c != 1 {
					t.Errorf("%s logged COMMIT of %s %d times", id, tx.id, c)
				}
			}
		}
		if committed && txKey[tx.id] == "other" {
			for _, id := range ids {
				if v := s.Store(id)["other"]; v != "x" {
					t.Errorf("%s: other=%q after %s committed", id, v, tx.id)
				}
			}
		}
		if committed && txKey[tx.id] == "balance" {
			want += tx.delta
			for _, id := range ids {
				if s.State(id, tx.id) != wire.StateCommitted {
					t.Errorf("%s committed somewhere but %s is %q", tx.id, id, s.State(id, tx.id))
				}
			}
		}
		for _, r := range s.Replies(tx.id) {
			if (r.Outcome == wire.StateCommitted) != committed {
				t.Errorf("%s: the coordinator replied %s, participants committed=%v", tx.id, r.Outcome, committed)
			}
		}
		// A transaction the coordinator began must finish; one it only
		// presumed aborted (asked about after losing it) has nothing to.
		if s.Records(CoordID, protocol.RecBegin, tx.id) > 0 && s.finished[tx.id] == 0 {
			t.Errorf("%s never finished", tx.id)
		}
	}
	for _, id := range ids {
		s.NoLocks(id)
		s.wantBalance(fmt.Sprint(want), id)
	}
	if t.Failed() {
		t.Logf("trace:\n%s", s.Trace())
	}
}
