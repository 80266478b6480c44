package participant

import (
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Refusals by the state machine (protocol.Refused): a peer spoke for a
// transaction where the protocol gives it no say now (protocol/peerword.go). Unlike
// the policy's refusals (refuse, auth.go) the connection stays open:
// the same peer's other messages may be legitimate, and a termination
// leader's may merely have come early. The sender is told with an Error
// and the refusal is logged, both at most refusalWarnings times per
// refusalWindow, so that a peer sending them in a loop floods neither the
// log nor its own connection.

const (
	refusalWindow   = 10 * time.Second
	refusalWarnings = 20
)

// refusalLog counts the refusals of the current window.
type refusalLog struct {
	start  time.Time // when the window began
	logged int       // refusals logged in it
	quiet  int       // refusals not logged in it
}

// runFrom carries out effects of a message that came on conn, answering
// the refusals among them there.
func (a *participantActor) runFrom(conn *transport.Conn, effects []protocol.Effect) {
	for _, e := range effects {
		if r, ok := e.(protocol.Refused); ok {
			a.refusedByState(conn, r)
		}
	}
	// A peer's word (its answer, or a termination leader's decision) decides
	// without the coordinator.
	a.termination = conn.Remote().Role == wire.RoleParticipant
	a.run(effects)
	a.termination = false
}

func (a *participantActor) refusedByState(conn *transport.Conn, r protocol.Refused) {
	l := &a.refusals
	if now := time.Now(); now.Sub(l.start) > refusalWindow {
		if l.quiet > 0 {
			a.logger.Warn("peers' messages refused and not logged", "count", l.quiet, "window", refusalWindow.String())
		}
		*l = refusalLog{start: now}
	}
	if l.logged >= refusalWarnings {
		l.quiet++
		return
	}
	l.logged++
	rem := conn.Remote()
	a.logger.Warn("refusing a peer's message; the connection stays open", "type", r.Type.String(), "tx", r.TxID,
		"from", r.From, "remote", conn.RemoteAddr(), "role", string(rem.Role), "reason", r.Reason)
	_ = conn.Send(&wire.Error{Code: wire.ErrForbidden, Msg: r.Reason})
}
