package protocol

import (
	"github.com/txd/txd/wire"
)

// PARALLEL on a participant. Its vote is the outcome's evidence, so every
// vote is durable before anyone hears it: YES forces PREPARED (as in 2PC),
// NO forces ABORT (noVote), and a Query about an id it has no record of
// makes it durably refuse the id before it answers ABORTED (Query, as for
// 2PC and 3PC peers). A refusal binds: a PREPARE arriving later is voted
// NO.
//
// In doubt (READY, the outcome not heard for a Timeout), it asks the
// coordinator and every other member, every Timeout, until it knows
// (parallelTick): a member COMMITTED or ABORTED gives the outcome (the
// common QueryReply path); every member READY (their YES votes durable,
// ours too) means committed. A member that does not answer is asked again:
// its vote may be durable, or it may still refuse. No coordinator is
// needed and no partition can split the outcome, since every member's
// answer is a durable fact that never changes from READY to a refusal.
// A participant that decides from the answers tells the other members
// (announce), and they take a member's Decision for a PARALLEL transaction
// at any time (peerword.go): it can only repeat what the votes fixed.

// parallelNo is a PARALLEL participant's NO vote: ABORT forced first, the
// vote sent once it is durable (settled, by noVote).
func (p *Participant) parallelNo(t *ptx, reason string) []Effect {
	t.noVote = true
	return p.settle(t, false, reason)
}

// toCoord is what settled sends the coordinator: the NO vote a PARALLEL
// participant owes (parallelNo), or the ack of the outcome.
func (p *Participant) toCoord(t *ptx) Effect {
	if t.noVote {
		t.noVote = false
		return p.vote(t, false, t.reason)
	}
	return p.ack(t)
}

// parallelTick is a PARALLEL transaction's timer while in doubt: ask the
// coordinator and every other member. The peers' READY answers accumulate
// across rounds: a durable YES is never withdrawn.
func (p *Participant) parallelTick(t *ptx) []Effect {
	t.asked, t.askedPeers, t.roundOpen = true, true, true
	if t.round == nil {
		t.round = map[string]wire.State{}
	}
	eff := []Effect{p.query(t)}
	for _, m := range t.members {
		if m.ID != p.cfg.NodeID && t.round[m.ID] != wire.StateReady {
			eff = append(eff, Send{To: m.ID, Addr: m.Addr, Msg: &wire.Query{TxID: t.id, From: p.cfg.NodeID, Protocol: protoTag(t.protocol)}})
		}
	}
	return append(eff, p.timer(t))
}

// parallelAllYes commits once every other member answered READY (this one
// is READY: only a READY transaction takes answers).
func (p *Participant) parallelAllYes(t *ptx) []Effect {
	for _, m := range t.members {
		if m.ID != p.cfg.NodeID && t.round[m.ID] != wire.StateReady {
			return nil
		}
	}
	t.announce = true
	return p.settle(t, true, "every member voted YES")
}

// protoTag is the Protocol a Vote or Query about a transaction running
// proto carries: PARALLEL only, so that its coordinator never presumes
// abort for it.
func protoTag(proto wire.Protocol) wire.Protocol {
	if proto == wire.Parallel {
		return wire.Parallel
	}
	return ""
}
