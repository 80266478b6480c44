package sim

import (
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// client is the Origin of a client's requests: the coordinator's answers
// to it are what the client is told.
type client struct{}

// Begin has a client start transaction tx over every participant (in
// member order) with ops per member, and carries out the coordinator's
// effects; Run delivers them. It returns the coordinator's transaction
// (nil if it refused).
func (s *Sim) Begin(tx string, ops map[string][]wire.Op) *protocol.CoordTxn {
	return s.BeginWith(tx, s.ids, ops)
}

// BeginWith is Begin over the cluster ids.
func (s *Sim) BeginWith(tx string, ids []string, ops map[string][]wire.Op) *protocol.CoordTxn {
	var all []wire.Op
	for _, id := range ids {
		for _, op := range ops[id] {
			op.Target = id
			all = append(all, op)
		}
	}
	s.Start(&wire.Start{TxID: tx, Protocol: s.Proto, Ops: all}, s.Members(ids))
	if c := s.Coordinator(); c != nil {
		return c.Txn(tx)
	}
	return nil
}

// Start hands the coordinator a client's request as it is (a retry of an
// id, say), over cluster, and carries out its effects.
func (s *Sim) Start(req *wire.Start, cluster []wire.Member) {
	c := s.Coordinator()
	if c == nil {
		s.t.Fatalf("Start %s: the coordinator is down", req.TxID)
	}
	if c.Txn(req.TxID) == nil {
		s.begun[req.TxID] = len(s.delivered)
	}
	if req.ReqID == 0 {
		s.reqID++
		req.ReqID = s.reqID
	}
	s.call(CoordID, "client START "+req.TxID+" "+string(req.Protocol), c.Start(protocol.From{Conn: client{}}, req, cluster))
}

// toCoordinator hands the coordinator a participant's message, on that
// participant's own connection (so Answers go back to it).
func (s *Sim) toCoordinator(e Envelope) {
	c := s.Coordinator()
	from := protocol.From{Conn: e.From, Node: e.From}
	what := e.From + " " + protocol.Describe(e.Msg)
	switch m := e.Msg.(type) {
	case *wire.Vote:
		s.call(CoordID, what, c.Vote(from, m))
	case *wire.Ack:
		s.call(CoordID, what, c.Ack(from, m))
	case *wire.QueryReply:
		s.call(CoordID, what, c.QueryReply(from, m))
	case *wire.Query:
		s.call(CoordID, what, c.Query(from, m))
	default:
		s.t.Errorf("coordinator got %s", e)
	}
}

// ClientAnswers lists what clients were told, in order.
func (s *Sim) ClientAnswers() []wire.Message { return s.answers }

// Replies lists the coordinator's Reply effects for tx.
func (s *Sim) Replies(tx string) []protocol.Reply {
	var out []protocol.Reply
	for _, r := range s.replies {
		if r.TxID == tx {
			out = append(out, r)
		}
	}
	return out
}

// FinishedCount is how many times the coordinator said tx was finished.
func (s *Sim) FinishedCount(tx string) int { return s.finished[tx] }

// Contradictions lists the Contradiction effects the coordinator emitted.
func (s *Sim) Contradictions() []protocol.Contradiction { return s.contra }
