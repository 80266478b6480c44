package participant

import (
	"log/slog"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// clientReplies are client requests the participant's state machine
// answers later (txcli resolve: once the heuristic record is durable),
// by the token the machine echoes in its Answer.
type clientReplies struct {
	next  uint64
	conns map[uint64]*transport.Conn
}

// resolve hands an operator's heuristic decision to the state machine.
// Only a client may make one (a node that sends Resolve is confused or
// hostile): the participant's policy (auth.go) refused any other sender
// before this runs. A client whose certificate's role may not change data
// (internal/certs.Role) is refused here, and keeps its connection: it may
// still read.
func (a *participantActor) resolve(conn *transport.Conn, m *wire.Resolve) {
	if err := certs.CheckWrite(conn.PeerCertificate(), "resolve a transaction"); err != nil {
		a.logger.Warn("refusing a heuristic decision: the client's certificate does not allow it", "tx", m.TxID,
			"client", conn.Remote().NodeID, "role", string(certs.RoleOf(conn.PeerCertificate())))
		_ = conn.Send(&wire.Error{ReqID: m.ReqID, Code: wire.ErrForbidden, Msg: err.Error()})
		return
	}
	if err := wire.CheckID("transaction id", m.TxID); err != nil {
		_ = conn.Send(&wire.Error{ReqID: m.ReqID, Code: wire.ErrBadRequest, Msg: err.Error()})
		return
	}
	if a.clients.conns == nil {
		a.clients.conns = map[uint64]*transport.Conn{}
	}
	a.clients.next++
	a.clients.conns[a.clients.next] = conn
	if m.Force {
		// The operator overrode txcli's checks: the coordinator or a
		// member could still decide, or knew the outcome.
		a.logger.Error("heuristic decision FORCED past txcli's safety checks", "tx", m.TxID, "commit", m.Commit, "client", conn.Remote().NodeID)
	} else {
		a.logger.Warn("heuristic decision requested", "tx", m.TxID, "commit", m.Commit, "client", conn.Remote().NodeID)
	}
	a.run(a.fsm.Resolve(a.clients.next, m))
}

// answer sends the state machine's answer to the client that asked. A
// client that went away meanwhile just misses it: the outcome stands.
func (a *participantActor) answer(e protocol.Answer) {
	conn := a.clients.conns[e.To.(uint64)]
	delete(a.clients.conns, e.To.(uint64))
	if r, ok := e.Msg.(*wire.ResolveResult); ok && r.Applied {
		a.logger.Warn("heuristic decision applied", "tx", r.TxID, "state", string(r.State))
		a.metrics.Heuristic()
	}
	if conn != nil {
		_ = conn.Send(e.Msg)
	}
}

// alarm logs what an operator must see: heuristic damage (rate-limited:
// every such transaction is also in status and counted).
func (a *participantActor) alarm(e protocol.Alarm) {
	a.metrics.HeuristicDamage()
	a.incidents.Event(slog.LevelError, "heuristic damage", "detail", e.Msg, "tx", e.TxID, "heuristic", string(e.Heuristic), "decided", string(e.Decided), "from", e.From)
}
