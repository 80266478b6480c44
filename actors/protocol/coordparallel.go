package protocol

import (
	"fmt"

	"github.com/txd/txd/wire"
)

// PARALLEL on the coordinator (parallel commits, as in CockroachDB and
// Cornus). The outcome is not the coordinator's to choose: a transaction
// is committed exactly when every member has durably voted YES (PREPARED
// forced before the vote), and aborted when one has durably voted NO or
// durably refused ("never YES for this id", which a participant logs
// before it answers a Query about an id it has no record of). So:
//
//   - The last YES commits. The client hears COMMITTED at once, the
//     DECISION is logged lazily (for status, traces and a quicker
//     recovery, never for safety) and COMMIT goes to the members: no
//     coordinator fsync anywhere on the commit path.
//   - A NO aborts the same way (the participant forced it before voting).
//   - A vote that does not come in time is never presumed NO: the
//     coordinator asks that member (Query), which either has its YES
//     durable and answers READY (the transaction commits after all) or
//     durably refuses and answers ABORTED. It asks again until it hears.
//     An unreachable member is waited for the same way.
//   - A coordinator that restarts without the DECISION (lazy, so perhaps
//     lost) asks every member in the same way, and the same rule decides.
//     One that has no record of the id at all does not presume abort: a
//     PARALLEL participant's Vote and Query say PARALLEL (Coordinator.Query).
//
// Its members forget the transaction (Forget) only once END is forced:
// END follows the DECISION in the log, so a coordinator that restarts after
// they forgot remembers the outcome, and never asks members that could no
// longer answer it.
//
// The participants do not need the coordinator to finish
// (participant_parallel.go): each in doubt asks every member, and the
// answers, which are durable, decide by the same rule. Whoever decides,
// they decide alike.

// parallel reports whether t runs PARALLEL.
func (t *CoordTxn) parallel() bool { return t.protocol == wire.Parallel }

// parallelVote handles a vote while PARALLEL is still collecting them (or
// asking after them: voting or querying); later votes go the common way.
func (t *CoordTxn) parallelVote(v *wire.Vote) []Effect {
	switch {
	case v.Yes:
		return t.parallelLearn(v.From, wire.StateReady, "")
	case v.Known == wire.StateCommitted:
		// A member committed this id: every member had voted YES, so this
		// is the outcome (a restarted coordinator that lost it, retried).
		return t.parallelLearn(v.From, wire.StateCommitted, "")
	}
	return t.parallelLearn(v.From, wire.StateAborted, orDefault(v.Reason, "voted no"))
}

// parallelLearn takes one member's durable state, from its vote or its
// answer to a query, and decides once the rule does: any COMMITTED or
// every member READY → commit; any ABORTED → abort.
func (t *CoordTxn) parallelLearn(member string, st wire.State, why string) []Effect {
	if t.phase != phVoting && t.phase != phQuerying {
		return nil
	}
	switch st {
	case wire.StateCommitted:
		t.state[member] = st
		return t.parallelDecide(true, "")
	case wire.StateAborted:
		t.state[member] = st
		return t.parallelDecide(false, fmt.Sprintf("%s: %s", member, orDefault(why, "refused")))
	case wire.StateReady:
		t.state[member] = st
		for _, s := range t.state {
			if s != wire.StateReady {
				return nil
			}
		}
		return t.parallelDecide(true, "")
	}
	return nil // unknown or undecided: keep asking
}

// parallelDecide settles the outcome the members' votes fixed: the client
// hears it, the decision is logged lazily and sent (deliver).
func (t *CoordTxn) parallelDecide(commit bool, reason string) []Effect {
	if commit {
		reason = ""
	}
	t.commit, t.reason = commit, wire.ShortReason(reason)
	t.seq++ // the vote or query timer is void now
	eff := []Effect{Persist{Rec: Record{Kind: RecDecision, TxID: t.id,
		Protocol: t.protocol, Commit: commit, Reason: t.reason, Members: t.members}}}
	if t.cfg.Delay > 0 && !t.recovered {
		// --delay: the client hears the outcome, and the members only after
		// the delay, a window for killing the coordinator in (they finish
		// without it: participant_parallel.go).
		t.phase = phDelay
		return append(t.reply(eff), t.timer(t.cfg.Delay))
	}
	return t.deliver(eff, true)
}

// parallelAsk asks every member whose vote is missing to answer or refuse
// (a Query), and again every Vote interval until each has: its YES may be
// durable already, so silence never means NO.
func (t *CoordTxn) parallelAsk() []Effect {
	t.phase = phQuerying
	var eff []Effect
	for _, m := range t.members {
		if t.state[m.ID] == wire.StateInit || t.state[m.ID] == wire.StateUnknown {
			eff = append(eff, Send{To: m.ID, Addr: m.Addr, Msg: &wire.Query{TxID: t.id, From: t.cfg.NodeID, Protocol: t.protocol}})
		}
	}
	return append(eff, t.timer(t.cfg.Vote))
}

// parallelQueryReply handles a member's answer to parallelAsk.
func (t *CoordTxn) parallelQueryReply(r *wire.QueryReply) []Effect {
	return t.parallelLearn(r.From, r.State, "refused")
}

// parallelUnknown answers a PARALLEL participant asking about (or voting
// on) an id this coordinator has no record of: it says it does not know,
// and logs nothing. Presuming abort would be wrong here: the members may
// all have voted YES, and a client may have been told COMMITTED, before
// this coordinator lost the id with its lazy records.
func (c *Coordinator) parallelUnknown(from From, q *wire.Query) []Effect {
	return []Effect{Answer{To: from.Conn, Peer: peerName(from),
		Msg: &wire.QueryReply{TxID: q.TxID, From: c.cfg.NodeID, State: wire.StateUnknown}}}
}
