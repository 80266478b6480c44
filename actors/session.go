package actors

import (
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/wire"
)

// sessionSend asks a session to deliver msg to its participant, replacing
// whatever it was delivering before (a decision supersedes the PREPARE).
type sessionSend struct{ msg wire.Message }

// sessionRetry is the session's retransmission timer.
type sessionRetry struct{ epoch uint64 }

// session is one participant's side of one transaction. It sends the current
// phase message and resends it every retry interval until the participant
// answers it (a vote answers PREPARE, an ack answers PRE-COMMIT, a final ack
// answers a decision, a query reply answers a query), so a
// lost frame or a reconnecting peer costs one interval, not the transaction.
// Replies are routed here straight from the connection's reader and passed
// up to the transaction, which sorts out duplicates.
type session struct {
	member  string
	peer    *wire.Peer // nil: the member's address is unknown to this node
	retry   time.Duration
	pending wire.Message
	epoch   uint64
	timer   *time.Timer
}

func newSession(member string, peer *wire.Peer, retry time.Duration) actor.Producer {
	return func() actor.Receiver {
		return &session{member: member, peer: peer, retry: retry}
	}
}

func (s *session) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Stopped:
		if s.timer != nil {
			s.timer.Stop()
		}
	case sessionSend:
		s.pending = m.msg
		s.transmit(c)
	case sessionRetry:
		if m.epoch == s.epoch && s.pending != nil {
			s.transmit(c)
		}
	case *wire.Vote:
		if _, ok := s.pending.(*wire.Prepare); ok {
			s.pending = nil
		}
		c.Send(c.Parent(), m)
	case *wire.Ack:
		switch s.pending.(type) {
		case *wire.PreCommit:
			s.pending = nil // any answer: the transaction decides what it means
		case *wire.Decision:
			if m.State.Final() {
				s.pending = nil
			}
		}
		c.Send(c.Parent(), m)
	case *wire.QueryReply:
		if _, ok := s.pending.(*wire.Query); ok {
			s.pending = nil
		}
		c.Send(c.Parent(), m)
	}
}

func (s *session) transmit(c *actor.Context) {
	if s.peer != nil {
		_ = s.peer.Send(s.pending) // not connected: the retry timer tries again
	}
	s.epoch++
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = afterFunc(c.Engine(), c.PID(), s.retry, sessionRetry{epoch: s.epoch})
}
