package sim

import (
	"fmt"
	"math/rand"
	"os"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// Seeded random PARALLEL runs: random delivery order, duplicates, losses,
// crashes and restarts of every node (the coordinator's lazy records lost
// with it), network partitions, timers firing at any moment, clients
// retrying ids. Agreement and "COMMITTED told ⇒ applied by every member"
// must hold throughout; once everyone is up and the network heals, every
// member learns the outcome and releases its locks. 1,000 seeds by
// default, 20,000 with TXD_EXPLORE=full.
func TestSimParallelRandom(t *testing.T) {
	seeds := int64(1000)
	if os.Getenv("TXD_EXPLORE") == "full" {
		seeds = 20000
	}
	var outcomes [2]int
	for seed := int64(1); seed <= seeds; seed++ {
		c, a := runRandomParallel(t, seed)
		outcomes[0], outcomes[1] = outcomes[0]+c, outcomes[1]+a
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
	t.Logf("%d seeds: %d transactions committed, %d aborted", seeds, outcomes[0], outcomes[1])
	if outcomes[0] == 0 || outcomes[1] == 0 {
		t.Error("the runs never reach one of the outcomes")
	}
}

// runRandomParallel runs one seed and returns how many of its
// transactions committed and aborted.
func runRandomParallel(t *testing.T, seed int64) (committed, aborted int) {
	rng := rand.New(rand.NewSource(seed))
	s := newSimParallel(t, abc...)
	s.Rng = rng
	if rng.Intn(3) == 0 {
		s.Cfg.Delay = time.Second // the members hear the outcome after the client
	}
	all := append([]string{CoordID}, abc...)
	lossy := true
	s.Filter = func(Envelope) Verdict {
		switch r := rng.Intn(20); {
		case r < 2:
			return Dup
		case r < 4 && lossy:
			return Drop
		}
		return Deliver
	}
	type tx struct {
		id, key string
		delta   int64
		ops     map[string][]wire.Op
	}
	// TX3 contends with TX1 for its key; TX2 has its own.
	txs := []tx{{id: "TX1", key: "balance", delta: -100}, {id: "TX2", key: "other", delta: -200}, {id: "TX3", key: "balance", delta: -300}}
	for _, id := range abc {
		s.Seed(id, "other", "1000")
	}
	for i := range txs {
		txs[i].ops = opsFor(abc, add(txs[i].key, txs[i].delta))
		if rng.Intn(4) == 0 { // sometimes one member votes NO
			txs[i].ops[abc[rng.Intn(3)]] = ops(add("balance", -5000))
		}
	}
	begin := func(x tx) {
		if s.nodes[CoordID].up {
			s.Begin(x.id, x.ops) // a second Begin is a client's retry
		}
	}
	started := 0
	anyTimer := func() bool { return s.fireAny(rng) }
	for i := 0; i < 300; i++ {
		switch r := rng.Intn(100); {
		case r < 4 && started < len(txs):
			begin(txs[started])
			started++
		case r < 6 && started > 0:
			begin(txs[rng.Intn(started)])
		case r < 14:
			anyTimer()
		case r < 18:
			id := all[rng.Intn(len(all))]
			if s.nodes[id].up {
				s.Crash(id)
			} else {
				s.Restart(id)
			}
		case r < 20:
			// One node cut off, or two against two.
			perm := rng.Perm(len(all))
			cut := 1 + rng.Intn(2)
			var a, b []string
			for j, k := range perm {
				if j < cut {
					a = append(a, all[k])
				} else {
					b = append(b, all[k])
				}
			}
			s.Split(a, b)
		case r < 22:
			s.Heal()
		default:
			s.Step()
		}
		for _, x := range txs[:started] {
			s.CheckAtomic(x.id)
			s.checkToldSoFar(x.id)
		}
	}
	// Heal: everyone up, no loss; timers drive the rest.
	lossy = false
	s.Heal()
	for _, id := range all {
		if !s.nodes[id].up {
			s.Restart(id)
		}
	}
	for _, x := range txs[started:] {
		begin(x)
	}
	for round := 0; round < 60; round++ {
		s.Run()
		if !anyTimer() {
			break
		}
	}
	s.Run()
	want := map[string]int64{"balance": 1000, "other": 1000}
	for _, x := range txs {
		s.CheckAtomic(x.id)
		s.CheckTold(x.id)
		commit := false
		for _, id := range abc {
			switch st := s.final(id, x.id); st {
			case wire.StateReady:
				t.Errorf("%s still in doubt on %s", id, x.id)
			case wire.StateCommitted:
				commit = true
			}
		}
		if commit {
			want[x.key] += x.delta
			committed++
		} else {
			aborted++
		}
	}
	for _, id := range abc {
		s.NoLocks(id)
		for k, v := range want {
			if got := s.Store(id)[k]; got != fmt.Sprint(v) {
				t.Errorf("%s: %s=%q, want %d", id, k, got, v)
			}
		}
	}
	if t.Failed() {
		t.Logf("trace:\n%s", s.Trace())
	}
	return committed, aborted
}
