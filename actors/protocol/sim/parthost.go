package sim

import (
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// toParticipant hands participant p a message. The coordinator's PREPARE,
// PRE-COMMIT, decision, query and Forget, and a peer's termination
// messages (Query, QueryReply, a leader's PRE-COMMIT and decision). An Ack
// from a peer (the answer to a leader's PRE-COMMIT) is dropped, as the
// participant host does: the leader learns the state from its next round.
func (s *Sim) toParticipant(p *protocol.Participant, e Envelope) {
	what := e.From + " " + protocol.Describe(e.Msg)
	switch m := e.Msg.(type) {
	case *wire.Prepare:
		s.call(e.To, what, p.Prepare(m))
	case *wire.Decision:
		if e.From == CoordID {
			s.call(e.To, what, p.Decision(e.From, m))
		} else {
			s.call(e.To, what, p.PeerDecision(e.From, m))
		}
	case *wire.Query:
		s.call(e.To, what, p.Query(m))
	case *wire.QueryReply:
		s.call(e.To, what, p.QueryReply(m))
	case *wire.PreCommit:
		if e.From == CoordID {
			s.call(e.To, what, p.PreCommit(e.From, m))
		} else {
			s.call(e.To, what, p.PeerPreCommit(e.From, m))
		}
	case *wire.Forget:
		s.call(e.To, what, p.Forget(m.TxIDs))
	case *wire.Ack:
		if e.From == CoordID {
			s.t.Errorf("participant %s got %s from the coordinator", e.To, protocol.Describe(e.Msg))
		}
	default:
		s.t.Errorf("participant %s got %s", e.To, protocol.Describe(e.Msg))
	}
}

// State is tx's state on participant id.
func (s *Sim) State(id, tx string) wire.State {
	return s.Part(id).State(tx)
}

// Store is participant id's committed store.
func (s *Sim) Store(id string) map[string]string {
	st, _ := s.Part(id).Status()
	return st
}

// NoLocks fails the test if participant id holds a lock.
func (s *Sim) NoLocks(id string) {
	s.t.Helper()
	if l := s.Part(id).Locked(); len(l) != 0 {
		s.t.Errorf("%s still holds locks %v", id, l)
	}
}

// TxStatus is tx's status on participant id (its state and the reason for
// its outcome); zero if it holds none.
func (s *Sim) TxStatus(id, tx string) wire.TxStatus {
	s.t.Helper()
	_, txs := s.Part(id).Status()
	for i := len(txs) - 1; i >= 0; i-- {
		if txs[i].TxID == tx {
			return txs[i]
		}
	}
	return wire.TxStatus{}
}
