package sim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/protocol/sim"
	"github.com/txd/txd/wire"
)

// The simulator as another package's tests use it: the exported API only.

func transfer(amount int64) map[string][]wire.Op {
	return map[string][]wire.Op{
		"A": {{Kind: wire.OpAdd, Key: "balance", Delta: -amount}},
		"B": {{Kind: wire.OpAdd, Key: "balance", Delta: amount}},
	}
}

// A transfer over a network that duplicates every PREPARE and loses the
// first COMMIT to B: retransmission gets it there, and the client hears
// COMMITTED once.
func TestAPITransferOverLossyNetwork(t *testing.T) {
	s := sim.New(t, "A", "B")
	s.Seed("A", "balance", "100")
	s.Seed("B", "balance", "0")
	lost := false
	s.Filter = func(e sim.Envelope) sim.Verdict {
		switch {
		case e.Msg.Type() == wire.TypePrepare:
			return sim.Dup
		case sim.Is(sim.CoordID, "B", wire.TypeDecision)(e) && !lost:
			lost = true
			return sim.Drop
		}
		return sim.Deliver
	}
	s.Begin("T1", transfer(30))
	s.Run()
	if n := s.FinishedCount("T1"); n != 0 {
		t.Fatalf("finished %d times without B's ack", n)
	}
	if s.Resend("T1") != 1 {
		t.Fatal("no retransmission timer")
	}
	s.Run()
	if a, b := s.Store("A")["balance"], s.Store("B")["balance"]; a != "70" || b != "30" {
		t.Errorf("balances %s/%s, want 70/30", a, b)
	}
	if a := s.ClientAnswers(); len(a) != 1 || protocol.Describe(a[0]) != "RESULT#1 T1 COMMITTED" {
		t.Errorf("client answers %d, first %v", len(a), protocol.Describe(a[0]))
	}
	if s.FinishedCount("T1") != 1 {
		t.Errorf("finished %d times", s.FinishedCount("T1"))
	}
	s.CheckAtomic("T1")
	s.CheckTold("T1")
}

// spy records a test's failures instead of failing it.
type spy struct {
	testing.TB
	errs []string
}

func (s *spy) Helper() {}
func (s *spy) Errorf(format string, args ...any) {
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

// The checks catch a member that applied what the coordinator aborted: B
// votes NO, and a forged COMMIT, injected past the network's records,
// reaches A in place of the coordinator's ABORT.
func TestAPIChecksCatchDisagreement(t *testing.T) {
	sp := &spy{TB: t}
	s := sim.New(sp, "A", "B")
	s.Seed("A", "balance", "100")
	s.Seed("B", "balance", "0")
	s.Filter = func(e sim.Envelope) sim.Verdict {
		if sim.Is(sim.CoordID, "A", wire.TypeDecision)(e) {
			return sim.Drop
		}
		return sim.Deliver
	}
	s.Begin("T1", map[string][]wire.Op{
		"A": {{Kind: wire.OpAdd, Key: "balance", Delta: -30}},
		"B": {{Kind: wire.OpAdd, Key: "balance", Delta: -30}}, // B has 0: NO
	})
	s.Run()
	s.CheckAtomic("T1")
	if len(sp.errs) != 0 {
		t.Fatalf("an honest run flagged: %q", sp.errs)
	}
	s.Inject(sim.Envelope{From: sim.CoordID, To: "A", Msg: &wire.Decision{TxID: "T1", Commit: true}})
	s.Run()
	s.CheckAtomic("T1")
	s.CheckTold("T1")
	for _, want := range []string{"T1 is committed on [A] but aborted on [B]", "a client was told T1 ABORTED but A applied it"} {
		if !strings.Contains(strings.Join(sp.errs, "\n"), want) {
			t.Errorf("not caught: %s; got %q", want, sp.errs)
		}
	}
}
