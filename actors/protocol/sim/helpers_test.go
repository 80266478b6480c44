package sim

import (
	"slices"
	"testing"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// Helpers the scenarios share: checks of where a cluster ended up, and
// termination rounds.

// wantOutcome checks that every participant in ids reached st on tx, that
// no locks are left, and that the coordinator replied st once and finished.
func (s *Sim) wantOutcome(tx string, st wire.State, ids ...string) {
	s.t.Helper()
	for _, id := range ids {
		if got := s.State(id, tx); got != st {
			s.t.Errorf("%s: %s is %q, want %q\n%s", id, tx, got, st, s.Trace())
		}
		s.NoLocks(id)
	}
	if r := s.Replies(tx); len(r) != 1 || r[0].Outcome != st {
		s.t.Errorf("replies for %s: %+v, want one %s", tx, r, st)
	}
	if s.finished[tx] != 1 {
		s.t.Errorf("%s finished %d times\n%s", tx, s.finished[tx], s.Trace())
	}
	if !s.nodes[CoordID].log.has(true, recIs(protocol.RecEnd, tx)) {
		s.t.Errorf("no END for %s", tx)
	}
	s.CheckAtomic(tx)
	s.CheckTold(tx)
}

func (s *Sim) wantBalance(want string, ids ...string) {
	s.t.Helper()
	for _, id := range ids {
		if got := s.Store(id)["balance"]; got != want {
			s.t.Errorf("%s: balance %q, want %q", id, got, want)
		}
	}
}

func newSim3(t testing.TB, ids ...string) *Sim {
	s := New(t, ids...)
	s.Proto = wire.ThreePC
	return s
}

// wantRecords checks the records node id wrote for tx, in order (durable
// or, lazy ones, still in the buffer).
func (s *Sim) wantRecords(id, tx string, kinds ...protocol.RecKind) {
	s.t.Helper()
	var got []protocol.RecKind
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

// tick is one termination round everywhere: every live participant's timers
// for tx fire, then the network runs until it is quiet.
func (s *Sim) tick(tx string) {
	s.t.Helper()
	for _, id := range s.ids {
		if s.nodes[id].up {
			s.Fire(id, tx)
		}
	}
	s.Run()
}

// settle runs termination rounds until every live participant knows the
// outcome of tx; it returns how many rounds it took.
func (s *Sim) settle(tx string, max int) int {
	s.t.Helper()
	for i := 1; i <= max; i++ {
		s.tick(tx)
		done := true
		for _, id := range s.ids {
			if s.nodes[id].up && !s.State(id, tx).Final() {
				done = false
			}
		}
		if done {
			return i
		}
	}
	s.t.Fatalf("%s not settled after %d rounds: %v\n%s", tx, max, s.states(tx), s.Trace())
	return 0
}

func (s *Sim) states(tx string) map[string]wire.State {
	out := map[string]wire.State{}
	for _, id := range s.ids {
		if s.nodes[id].up {
			out[id] = s.State(id, tx)
		}
	}
	return out
}

// wantAll: every participant reached st on tx, holds no lock, and the
// store shows the transaction applied once (balance) or never.
func (s *Sim) wantAll(tx string, st wire.State) {
	s.t.Helper()
	bal := "1000"
	if st == wire.StateCommitted {
		bal = "900"
	}
	for _, id := range s.ids {
		if got := s.State(id, tx); got != st {
			s.t.Errorf("%s: %s is %q, want %q", id, tx, got, st)
		}
		s.NoLocks(id)
		c := s.Records(id, protocol.RecCommit, tx)
		if (st == wire.StateCommitted && c != 1) || (st != wire.StateCommitted && c != 0) {
			s.t.Errorf("%s logged COMMIT %d times", id, c)
		}
	}
	s.wantBalance(bal, s.ids...)
	s.CheckAtomic(tx)
	s.CheckTold(tx)
	if s.t.Failed() {
		s.t.Logf("trace:\n%s", s.Trace())
	}
}

func isFinalAck(e Envelope) bool {
	a, ok := e.Msg.(*wire.Ack)
	return ok && e.To == CoordID && a.State.Final()
}

var abc = []string{"A", "B", "C"}

func set(k, v string) wire.Op       { return wire.Op{Kind: wire.OpSet, Key: k, Value: v} }
func add(k string, d int64) wire.Op { return wire.Op{Kind: wire.OpAdd, Key: k, Delta: d} }
func ops(o ...wire.Op) []wire.Op    { return o }
func opsFor(ids []string, o ...wire.Op) map[string][]wire.Op {
	m := map[string][]wire.Op{}
	for _, id := range ids {
		m[id] = o
	}
	return m
}

// final is tx's outcome on participant id: its state, or, once a Forget
// made it drop the transaction, what its log says.
func (s *Sim) final(id, tx string) wire.State {
	if st := s.State(id, tx); st != wire.StateUnknown {
		return st
	}
	switch {
	case s.Records(id, protocol.RecCommit, tx) > 0:
		return wire.StateCommitted
	case s.nodes[id].log.has(true, recIs(protocol.RecAbort, tx)):
		return wire.StateAborted
	}
	return wire.StateUnknown
}
