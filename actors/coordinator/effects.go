package coordinator

import (
	"context"
	"log/slog"
	"time"

	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
)

// run carries out the core's effects in order. A forced record comes back
// as walwriter.Durable, and only then does the core emit what depends on
// it (persist before send).
func (s *shard) run(effects []protocol.Effect) {
	if len(effects) == 0 {
		return
	}
	var down []protocol.Send // resends to members found unreachable
	for i, eff := range effects {
		crashBefore(effects, i)
		switch e := eff.(type) {
		case protocol.Send:
			if !s.send(e) {
				down = append(down, e)
			}
		case protocol.Answer:
			// Stamped before it leaves, as send does: on one clock no
			// receipt can then be stamped before its send.
			node.TraceMsg(s.host.trace, trace.Send, e.Peer, e.Msg)
			if conn, ok := e.To.(answerConn); ok {
				_ = conn.Send(e.Msg) // one who went away asks again, or reads status
			}
		case protocol.Persist:
			app := walwriter.Entry{Rec: e.Rec}
			if e.Force {
				app.ReplyTo = s.self
			}
			s.host.wal.Append(app)
		case protocol.SetTimer:
			s.setTimer(e)
		case protocol.Reply:
			s.reply(e)
		case protocol.Finished:
			s.stopTimers(e.TxID)
		case protocol.Contradiction:
			s.contradiction(e)
		}
	}
	for _, e := range down {
		if err := s.host.cluster.peerFor(e.To, e.Addr).Unreachable(e.Since); err != nil {
			s.run(s.core.Unreachable(e.TxID, e.To, err.Error()))
		}
	}
	s.drainIfIdle()
}

// answerConn is the connection an Answer goes back on (Answer.To): a
// *transport.Conn (an interface, so that tests can watch what leaves).
type answerConn interface{ Send(wire.Message) error }

// send transmits a message to a member. False: a retransmission (Since
// set) found the member's connection down, so the member may be
// unreachable (Peer.Unreachable says).
func (s *shard) send(e protocol.Send) bool {
	p := s.host.cluster.peerFor(e.To, e.Addr)
	node.TraceMsg(s.host.trace, trace.Send, e.To, e.Msg)
	if p == nil || p.Send(e.Msg) == nil {
		return true
	}
	// Not connected: the resend timer tries again, and learns by then
	// whether a fresh dial failed.
	p.Redial()
	return e.Since.IsZero()
}

// reply logs (at debug: one line per transaction is no incident) and
// counts a transaction whose outcome its clients now have (the core
// answered them): first, so that a test or an operator seeing the answer
// can rely on the line being there.
func (s *shard) reply(r protocol.Reply) {
	if s.host.logger.Enabled(context.Background(), slog.LevelDebug) { // spares boxing the arguments above debug
		args := []any{"tx", r.TxID, "protocol", string(r.Protocol), "outcome", string(r.Outcome), "took", r.Took.Round(time.Microsecond)}
		if r.Reason != "" {
			args = append(args, "reason", r.Reason)
		}
		s.host.logger.Debug("transaction decided", args...)
	}
	commit := r.Outcome == wire.StateCommitted
	s.host.metrics.Outcome(r.Protocol, commit)
	if r.Client {
		s.host.metrics.Latency(r.Protocol, commit, r.Took)
	}
}

// contradiction says loudly (rate-limited: each is in status too) that a
// participant reached the other outcome.
func (s *shard) contradiction(c protocol.Contradiction) {
	if c.Heuristic {
		// An operator resolved it by hand (txcli resolve) against the
		// decision; the participant reports it too, and status shows it.
		s.host.metrics.HeuristicDamage()
		s.host.incidents.Event(slog.LevelError, "heuristic damage: a participant was resolved by an operator against the decision",
			"tx", c.TxID, "participant", c.Member, "participant_state", string(c.State), "decision", string(c.Decision))
		return
	}
	// Only 3PC under a partition or a long pause can get here
	// (docs/protocols.md, "2PC or 3PC?").
	s.host.incidents.Event(slog.LevelError, "atomicity violated: a participant reached the other outcome",
		"tx", c.TxID, "participant", c.Member, "participant_state", string(c.State), "decision", string(c.Decision))
}
