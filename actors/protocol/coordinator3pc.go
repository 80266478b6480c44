package protocol

import (
	"fmt"
	"sort"

	"github.com/txd/txd/wire"
)

// 3PC on the coordinator: BEGIN forced while CAN-COMMIT (PREPARE) is out →
// votes → PRE-COMMIT sent → acks (the client is answered) → DO-COMMIT
// logged → DO-COMMIT sent → acks → END. The abort path is 2PC's.
//
// PRE-COMMIT may leave only once the coordinator durably knows the
// transaction: a coordinator that restarted without it would answer a
// pre-committed participant's query with a presumed abort, while another
// may already have committed by the termination protocol. Knowing it is
// enough: a restarted coordinator finding a 3PC transaction without a
// decision asks its participants and applies the termination rule, whether
// or not PRE-COMMIT was sent (startQuery). So BEGIN is forced, in parallel
// with the participants' PREPARED fsyncs rather than after them, and the
// PRE-COMMIT record is logged lazily, for status and traces only: no
// coordinator fsync between the votes and PRE-COMMIT.
//
// The client hears COMMITTED as soon as every participant has acknowledged
// PRE-COMMIT, while DO-COMMIT is still being logged: from that moment no
// path leads to abort. Every participant is durably pre-committed, so any
// termination round finds one pre-committed and commits (TerminationRule),
// and a coordinator that crashes before DO-COMMIT is durable recovers the
// transaction from its BEGIN record by asking the participants, who say
// PRECOMMITTED. A participant that had decided otherwise on its own
// (its termination timed out on us) acks ABORTED instead, and then the
// client waits for the logged decision as in 2PC. This takes one fsync off
// the client's wait.

// preDecide: every participant voted YES. PRE-COMMIT goes out once BEGIN
// is durable (at once, usually: it was forced when CAN-COMMIT went out).
func (t *CoordTxn) preDecide() []Effect {
	t.phase = phPreLogging
	t.seq++ // the vote timer is void now
	eff := []Effect{Persist{Rec: Record{Kind: RecPreCommit, TxID: t.id,
		Protocol: t.protocol, Members: t.members}}}
	if t.beginDurable {
		eff = append(eff, t.preLogged()...)
	}
	return eff
}

// preLogged: the transaction is durably known and everyone voted YES; send
// PRE-COMMIT, after --delay if set.
func (t *CoordTxn) preLogged() []Effect {
	if t.cfg.Delay > 0 && !t.recovered {
		t.phase = phPreDelay
		return []Effect{t.timer(t.cfg.Delay)}
	}
	return t.sendPreCommit()
}

func (t *CoordTxn) sendPreCommit() []Effect {
	t.phase = phPreAcking
	eff := make([]Effect, 0, len(t.members)+1)
	for _, m := range t.members {
		eff = append(eff, Send{To: m.ID, Addr: m.Addr, Msg: &wire.PreCommit{TxID: t.id}})
	}
	return append(eff, t.timer(t.cfg.Vote))
}

// preAck handles an answer to PRE-COMMIT. A participant whose termination
// protocol already decided (it timed out on us) reports that outcome, and
// the coordinator follows it: it is the only one that can be consistent.
func (t *CoordTxn) preAck(a *wire.Ack) []Effect {
	if _, member := t.state[a.From]; !member {
		return nil
	}
	switch a.State {
	case wire.StateAborted:
		t.state[a.From] = a.State
		return t.decide(false, fmt.Sprintf("%s: %s", a.From, abortCause(a)))
	case wire.StateCommitted:
		// A participant committed (a termination leader decided): so must
		// everyone, certainly.
		t.state[a.From] = a.State
		return t.decideCertain()
	case wire.StatePrecommitted:
		t.state[a.From] = a.State
		for _, s := range t.state {
			if s != wire.StatePrecommitted {
				return nil
			}
		}
		return t.decideCertain()
	}
	return nil
}

// decideCertain logs COMMIT and answers the client at once, not when the
// record is durable: the outcome can no longer change (see the top).
func (t *CoordTxn) decideCertain() []Effect {
	eff := t.decide(true, "")
	t.told = true
	return append(eff, Reply{TxID: t.id, Outcome: wire.StateCommitted})
}

// startQuery begins a recovered 3PC transaction without a decision: ask
// every participant what it knows.
func (t *CoordTxn) startQuery() []Effect {
	t.phase = phQuerying
	t.replies = make(map[string]wire.State, len(t.members))
	return append(t.queryAll(), t.timer(t.cfg.Vote))
}

func (t *CoordTxn) queryAll() []Effect {
	eff := make([]Effect, 0, len(t.members))
	for _, m := range t.members {
		if _, ok := t.replies[m.ID]; !ok {
			eff = append(eff, Send{To: m.ID, Addr: m.Addr, Msg: &wire.Query{TxID: t.id, From: t.cfg.NodeID}})
		}
	}
	return eff
}

// QueryReply handles a participant's answer to the recovery query.
func (t *CoordTxn) QueryReply(r *wire.QueryReply) []Effect {
	if _, member := t.state[r.From]; !member || t.phase != phQuerying {
		return nil
	}
	if t.parallel() {
		return t.parallelQueryReply(r) // coordparallel.go
	}
	t.replies[r.From] = r.State
	t.state[r.From] = r.State
	if len(t.replies) < len(t.members) {
		return nil
	}
	return t.resolve()
}

// queryTimeout decides with whoever answered; with nobody, asks again.
func (t *CoordTxn) queryTimeout() []Effect {
	if len(t.replies) == 0 {
		return append(t.queryAll(), t.timer(t.cfg.Vote))
	}
	return t.resolve()
}

// resolve applies the termination rules to the participants' states.
func (t *CoordTxn) resolve() []Effect {
	commit, reason := TerminationRule(t.replies)
	return t.decide(commit, "recovered: "+reason)
}

// TerminationRule is 3PC's termination decision over the states of the
// participants that could be reached: any COMMITTED → commit; any ABORTED or
// any that never voted (unknown) → abort; any PRECOMMITTED → commit (the rest
// are pre-committed first by a participant leader); all READY → abort, since
// nobody can have committed. It returns the decision and why.
func TerminationRule(states map[string]wire.State) (commit bool, reason string) {
	ids := make([]string, 0, len(states))
	for id := range states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	find := func(want func(wire.State) bool) string {
		for _, id := range ids {
			if want(states[id]) {
				return id
			}
		}
		return ""
	}
	if id := find(func(s wire.State) bool { return s == wire.StateCommitted }); id != "" {
		return true, id + " had committed"
	}
	if id := find(func(s wire.State) bool { return s == wire.StateAborted }); id != "" {
		return false, id + " had aborted"
	}
	if id := find(func(s wire.State) bool { return s != wire.StateReady && s != wire.StatePrecommitted }); id != "" {
		return false, id + " had not voted"
	}
	if id := find(func(s wire.State) bool { return s == wire.StatePrecommitted }); id != "" {
		return true, id + " was pre-committed"
	}
	return false, "nobody was pre-committed"
}
