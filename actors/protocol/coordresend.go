package protocol

import "github.com/txd/txd/wire"

// Retransmission. The coordinator keeps each member's unanswered phase
// message (PREPARE, PRE-COMMIT, the decision, a recovery query) and sends
// it again every Retry until the member answers it, so a lost frame or a
// reconnecting participant costs one interval, not the transaction. A
// newer message to the same member replaces the older one. One timer per
// transaction, not one per member.

// track keeps a phase message for retransmission and sets the
// transaction's resend timer if none is set.
func (c *Coordinator) track(t *CoordTxn, s Send, out []Effect) []Effect {
	if t.node.pending == nil {
		t.node.pending = make(map[string]*Send, len(t.members))
	}
	kept := s
	t.node.pending[s.To] = &kept
	if t.node.resendArmed {
		return out
	}
	return append(out, c.armResend(t))
}

func (c *Coordinator) armResend(t *CoordTxn) SetTimer {
	t.node.resendSeq++
	t.node.resendArmed = true
	return SetTimer{TxID: t.id, Seq: t.node.resendSeq, After: c.cfg.Retry, Kind: TimerResend, Due: c.cfg.Now().Add(c.cfg.Retry)}
}

// answered clears a member's pending message if its reply answers it.
func (t *CoordTxn) answered(member string, answers func(pending wire.Message) bool) {
	if s := t.node.pending[member]; s != nil && answers(s.Msg) {
		delete(t.node.pending, member)
	}
}

// resend sends every unanswered message again, in the members' order.
// Each carries the time the transaction began, so the host can report a
// member found unreachable since (Unreachable).
func (c *Coordinator) resend(t *CoordTxn, seq uint64) []Effect {
	if seq != t.node.resendSeq || !t.node.resendArmed {
		return nil
	}
	t.node.resendArmed = false
	if len(t.node.pending) == 0 {
		return nil
	}
	eff := make([]Effect, 0, len(t.node.pending)+1)
	for _, m := range t.members {
		if s := t.node.pending[m.ID]; s != nil {
			again := *s
			again.TxID, again.Since = t.id, t.node.began
			eff = append(eff, again)
		}
	}
	return append(eff, c.armResend(t))
}
