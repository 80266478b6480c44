package protocol

import (
	"github.com/txd/txd/wire"
)

// Termination: what a participant in doubt (READY, or PRECOMMITTED in 3PC)
// does when the coordinator goes quiet.
//
// Every Timeout it asks the coordinator (Query). When the coordinator stayed
// silent for a whole interval, the round also asks every other member of
// the transaction. Answers arrive as QueryReply:
//   - from the coordinator, "still undecided": it is alive, so nothing is
//     decided without it this round; a decided coordinator answers with the
//     Decision itself.
//   - from a peer, COMMITTED or ABORTED: the outcome is known; adopt it
//     (2PC's cooperative termination, and 3PC's first two rules). Only
//     once we have asked the peers: an answer nobody asked for is refused
//     (peerword.go).
//   - from a peer, READY or PRECOMMITTED: recorded for the round.
//
// 2PC stops there: if every peer is READY too, nobody may decide, and the
// participant stays READY and keeps asking (the blocking the seed shows).
//
// 3PC goes on when the round ends (the next tick) without a word from the
// coordinator: the live members are itself and those that answered; the one
// with the lowest id leads and applies TerminationRule. To commit from a mix
// of PRECOMMITTED and READY it first pre-commits the READY ones (and itself)
// and decides in a later round, when everyone live is PRECOMMITTED. The
// leader forces its outcome and then sends it to every member.
//
// This is safe only if the network does not partition: two sides that
// cannot hear each other each elect a leader and may decide differently.
// TestSim3PCPartition (sim/partition_test.go) shows it.

// Timer handles a timer: a transaction in doubt runs a termination round.
func (p *Participant) Timer(txid string, seq uint64) []Effect {
	t := p.txns[txid]
	if t == nil || seq != t.seq || t.pending != pendNone {
		return nil
	}
	if t.state != wire.StateReady && t.state != wire.StatePrecommitted {
		return nil
	}
	if t.protocol == wire.Parallel {
		return p.parallelTick(t) // participant_parallel.go
	}
	// Silent: we asked the coordinator a whole interval ago and it said
	// nothing. Only then are the peers asked (asking them too early makes
	// a peer whose PREPARE is merely late abort the transaction: "anyone
	// not yet voted"), and only after a peer round under a silent
	// coordinator does a 3PC participant decide without it.
	silent := t.asked && !t.coordAlive
	var eff []Effect
	if t.protocol == wire.ThreePC && t.roundOpen && silent {
		eff = p.lead(t)
		if t.pending == pendCommitted || t.pending == pendAborted {
			return eff // deciding; Logged takes it from here
		}
	}
	t.asked, t.coordAlive, t.roundOpen = true, false, silent
	eff = append(eff, p.query(t))
	if silent {
		t.askedPeers = true
		t.round = map[string]wire.State{}
		for _, m := range t.members {
			if m.ID != p.cfg.NodeID {
				eff = append(eff, Send{To: m.ID, Addr: m.Addr, Msg: &wire.Query{TxID: t.id, From: p.cfg.NodeID}})
			}
		}
	}
	return append(eff, p.timer(t))
}

// QueryReply handles an answer to one of our queries.
func (p *Participant) QueryReply(r *wire.QueryReply) []Effect {
	t := p.txns[r.TxID]
	if t == nil || t.pending != pendNone || (t.state != wire.StateReady && t.state != wire.StatePrecommitted) {
		return nil
	}
	if r.From == t.coord {
		t.coordAlive = true
		return nil
	}
	if !t.isMember(r.From) {
		return nil
	}
	if !t.askedPeers {
		// A peer's word is heard only as the answer to our own question
		// (peerword.go).
		return []Effect{Refused{TxID: t.id, From: r.From, Type: wire.TypeQueryReply, Reason: errUnasked.Error()}}
	}
	switch r.State {
	case wire.StateCommitted:
		return p.settle(t, true, "learned from "+r.From)
	case wire.StateAborted:
		return p.settle(t, false, "learned from "+r.From)
	}
	if t.roundOpen {
		t.round[r.From] = r.State
	}
	if t.protocol == wire.Parallel {
		return p.parallelAllYes(t) // participant_parallel.go
	}
	return nil
}

// PreCommit handles 3PC's PRE-COMMIT, from the coordinator or from a
// termination leader (through PeerPreCommit): force PRECOMMIT, then ack.
func (p *Participant) PreCommit(from string, m *wire.PreCommit) []Effect {
	t := p.txns[m.TxID]
	if t == nil || t.pending != pendNone {
		return nil // never voted (cannot be asked to), or busy logging
	}
	if from == t.coord {
		t.coordAlive = true
	}
	if t.state != wire.StateReady {
		return []Effect{p.ackTo(t, from)} // already there, or decided: say which
	}
	t.pending, t.preFrom = pendPrecommitted, from
	return []Effect{Persist{Force: true, Rec: Record{Kind: RecPreCommit, TxID: t.id, Protocol: t.protocol}}}
}

// lead ends a 3PC round in which the coordinator stayed silent: if we have
// the lowest id among the live members, decide by the termination rules.
func (p *Participant) lead(t *ptx) []Effect {
	live := make(map[string]wire.State, len(t.round)+1)
	for id, s := range t.round {
		live[id] = s
	}
	live[p.cfg.NodeID] = t.state
	for id := range live {
		if id < p.cfg.NodeID {
			return nil // a lower live id leads; its decision will reach us
		}
	}
	commit, reason := TerminationRule(live)
	if commit {
		// In a stable order (itself, then the members'), not the map's: the
		// same events must give the same effects.
		ids := []string{p.cfg.NodeID}
		for _, m := range t.members {
			if m.ID != p.cfg.NodeID {
				ids = append(ids, m.ID)
			}
		}
		var eff []Effect
		for _, id := range ids {
			if s, ok := live[id]; !ok || s != wire.StateReady {
				continue
			}
			if id == p.cfg.NodeID {
				t.pending, t.preFrom = pendPrecommitted, p.cfg.NodeID
				eff = append(eff, Persist{Force: true, Rec: Record{Kind: RecPreCommit, TxID: t.id, Protocol: t.protocol}})
				continue
			}
			eff = append(eff, Send{To: id, Addr: t.addrOf(id), Msg: &wire.PreCommit{TxID: t.id}})
		}
		if len(eff) > 0 {
			return eff // commit in a later round, once all live are PRECOMMITTED
		}
	}
	t.announce = true
	return p.settle(t, commit, "termination protocol, led by "+p.cfg.NodeID+": "+reason)
}

func (t *ptx) isMember(id string) bool {
	for _, m := range t.members {
		if m.ID == id {
			return true
		}
	}
	return false
}

func (t *ptx) addrOf(id string) string {
	for _, m := range t.members {
		if m.ID == id {
			return m.Addr
		}
	}
	return ""
}

// TimerLate handles a timer that fired much later than it was set for: the
// node was paused (SIGSTOP, a long GC, an overloaded host). The round that
// was open is stale (its answers may describe states that have changed
// meanwhile, and the silence it saw may be our own), so it is dropped
// without a decision and a fresh round begins.
func (p *Participant) TimerLate(txid string, seq uint64) []Effect {
	if t := p.txns[txid]; t != nil && seq == t.seq {
		t.roundOpen, t.asked = false, false
	}
	return p.Timer(txid, seq)
}
