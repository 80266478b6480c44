package protocol

import "github.com/txd/txd/wire"

// presumedReason is what a participant asking about a transaction the
// coordinator has no record of is told.
const presumedReason = "presumed abort: the coordinator has no record of it"

// Query answers a participant (or anyone) asking about a transaction.
//
// Unknown means presumed abort: the coordinator never logged a decision
// for it, so nobody can have committed it. The answer is logged first
// when a participant asks (presumeAbort). Running but not yet in phase
// two (still voting, logging, or waiting out --delay): "undecided,
// alive", so a 3PC participant does not run its termination protocol
// behind a working coordinator's back. Otherwise the decision.
func (c *Coordinator) Query(from From, q *wire.Query) []Effect {
	t := c.txns[q.TxID]
	switch {
	case t == nil && q.Protocol == wire.Parallel:
		return c.parallelUnknown(from, q) // never presumed (coordparallel.go)
	case t == nil && (from.Node == "" || wire.CheckID("transaction id", q.TxID) != nil):
		// Nobody who could act on it asks: answer without logging (a
		// stranger's queries must not cost an fsync each).
		return []Effect{Answer{To: from.Conn, Peer: peerName(from),
			Msg: &wire.Decision{TxID: q.TxID, Reason: presumedReason}}}
	case t == nil:
		return c.presumeAbort(from, q.TxID)
	case t.node.finished:
		return t.await(waiter{to: from.Conn, asker: from.Node})
	}
	member := t.memberOf(from.Node, from.Alias) // who asks, by its handshake, not by what it claims
	if eff := t.Query(member); len(eff) > 0 {
		// Answer on the asker's own connection too: ours to it may be
		// down (it restarted; we are still backing off).
		out := make([]Effect, 0, 2*len(eff))
		for _, e := range eff {
			if s, ok := e.(Send); ok {
				out = append(out, Answer{To: from.Conn, Peer: q.From, Msg: s.Msg})
			}
		}
		return append(out, c.run(t, eff)...)
	}
	st := t.Status().State
	if st.Final() {
		st = wire.StateInit // decided, not yet in phase two (--delay): no outcome yet
	}
	return []Effect{Answer{To: from.Conn, Peer: q.From,
		Msg: &wire.QueryReply{TxID: q.TxID, From: c.cfg.NodeID, State: st}}}
}

func peerName(from From) string {
	if from.Node == "" {
		return "client"
	}
	return from.Node
}

// presumeAbort turns "no record of it" into a logged abort before anyone
// hears it: the answers wait until the record is durable.
//
// Presumed abort is only safe if the answer binds: once a participant was
// told ABORT, the coordinator must never commit that id. Transaction ids
// are chosen by clients and retried (a client whose first try was lost with
// the coordinator's previous process asks again under the same id), so a
// retry would otherwise run the transaction anew, and its PREPARE, on
// another connection, could overtake the abort answer and collect that very
// participant's YES; after a restart the coordinator would not even
// remember having answered. With the abort in the log, a retry or a later
// query, in this process or the next, gets ABORTED.
func (c *Coordinator) presumeAbort(from From, txid string) []Effect {
	var members []wire.Member
	if wire.CheckID("participant id", from.Node) == nil {
		members = []wire.Member{{ID: from.Node}}
	}
	t := NewCoordTxn(c.cfg.CoordConfig, txid, "", members, nil)
	t.commit, t.reason, t.phase = false, presumedReason, phLogging
	t.told = true // Status shows the abort while it is being logged
	for _, m := range members {
		t.state[m.ID] = wire.StateAborted
	}
	t.node.presumed, t.node.decided, t.node.finished = true, true, true
	t.node.seen = c.cfg.Now().UnixNano()
	t.node.waiters = []waiter{{to: from.Conn, asker: from.Node}}
	c.txns[txid] = t
	c.order = append(c.order, t)
	c.keepFinished(t)
	return []Effect{Persist{Force: true, Rec: Record{Kind: RecDecision, TxID: txid,
		Commit: false, Reason: presumedReason, Members: members}}}
}

// presumedDurable answers whoever waited for a presumed abort, and ends it
// in the log (lazily: a participant that missed the answer asks again and
// is answered from the log's decision).
func (c *Coordinator) presumedDurable(t *CoordTxn, rec Record) []Effect {
	if rec.Kind != RecDecision {
		return nil
	}
	t.node.presumed = false
	t.phase = phDone
	t.node.replied = &wire.StartResult{TxID: t.id, Outcome: wire.StateAborted, Reason: presumedReason}
	eff := make([]Effect, 0, len(t.node.waiters)+1)
	for _, w := range t.node.waiters {
		eff = append(eff, t.answerTo(w))
	}
	t.node.waiters = nil
	return append(eff, Persist{Rec: Record{Kind: RecEnd, TxID: t.id}})
}
