package sim

import (
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// apply carries out effects emitted by node id, in order, as a host must,
// checking the invariants on the way (checks.go).
func (s *Sim) apply(id string, effs []protocol.Effect) {
	n := s.nodes[id]
	for _, e := range effs {
		switch e := e.(type) {
		case protocol.Send:
			s.checkSend(id, e.To, e.Msg)
			s.Post(Envelope{From: id, To: e.To, Msg: e.Msg})
		case protocol.Answer:
			s.answer(id, e)
		case protocol.Persist:
			if e.Rec.Kind == 0 {
				s.t.Errorf("%s persisted a record without a kind: %+v", id, e.Rec)
			}
			n.log.buf = append(n.log.buf, e)
			if e.Force && !n.log.manual {
				s.queue = append(s.queue, event{kind: evSync, node: id, inc: n.inc})
			}
		case protocol.SetTimer:
			s.addTimer(id, e)
		case protocol.Reply:
			if id != CoordID {
				s.t.Errorf("participant %s emitted a Reply", id)
			}
			if !e.TooOld {
				s.checkDecisionDurable(e.TxID, e.Outcome == wire.StateCommitted, "Reply")
			}
			if !e.Outcome.Final() {
				s.t.Errorf("Reply for %s with outcome %q", e.TxID, e.Outcome)
			}
			s.replies = append(s.replies, e)
		case protocol.Finished:
			s.checkFinished(e.TxID)
			s.finished[e.TxID]++
		case protocol.Contradiction:
			s.contra = append(s.contra, e)
		case protocol.Refused:
			if id == CoordID {
				s.t.Errorf("the coordinator emitted %+v", e)
			}
			s.refused = append(s.refused, e)
		case protocol.Alarm:
		default:
			s.t.Errorf("unknown effect %T", e)
		}
	}
}

// answer carries out an Answer: back on the connection the request came
// on, a client's or a participant's.
func (s *Sim) answer(id string, a protocol.Answer) {
	switch to := a.To.(type) {
	case client:
		s.answers = append(s.answers, a.Msg)
	case string:
		s.checkSend(id, to, a.Msg)
		s.Post(Envelope{From: id, To: to, Msg: a.Msg})
	default:
		s.t.Errorf("%s answered %s on an unknown connection %v", id, protocol.Describe(a.Msg), a.To)
	}
}
