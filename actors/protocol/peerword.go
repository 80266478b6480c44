package protocol

import (
	"errors"
	"fmt"

	"github.com/txd/txd/wire"
)

// A peer's word: what another participant may make this one do.
//
// The coordinator decides. Another participant speaks for a transaction
// only where the protocol gives it that role:
//
//   - 2PC: never with a Decision or a PRE-COMMIT. Its word is a QueryReply,
//     heard only once this participant has asked its peers itself (which it
//     does after its coordinator stayed silent for a whole interval).
//   - 3PC: a termination leader pre-commits the READY members (PreCommit)
//     and announces its outcome (Decision). A peer is taken as that leader
//     only while this participant itself finds the coordinator silent (its
//     last tick found it silent, and it has not been heard since), and only
//     if the peer's id is lower than its own: the leader is the lowest live
//     id, and it pre-commits only the members that answered it. Before this
//     participant has voted, a member's ABORT is taken at any time: it
//     could have made the transaction abort by voting NO.
//   - PARALLEL: any member's Decision, at any time. Its outcome is fixed
//     by the members' durable votes, not chosen by whoever announces it
//     (participant_parallel.go).
//
// Anything else is refused: the machine does not act on it, and returns a
// Refused effect for the host to log. A message that changes nothing here
// (the outcome is already known, or it is about a transaction finished and
// forgotten) is handled as before. To the protocol a refusal is a lost
// message, which it already survives: a participant still in doubt keeps
// asking, its coordinator and then its peers, and learns the outcome from
// their answers. A legitimate leader whose message arrives before this
// participant's own timer has found the coordinator silent (it was
// restarted, or paused) is refused the same way and costs a round; one
// that arrives while this participant still hears the coordinator (a
// partition, or a pause) is refused too, and the coordinator decides.
//
// This keeps a peer that holds a valid member certificate from deciding a
// transaction whose coordinator is alive, or a 2PC transaction at all. It
// does not make peers trustworthy: a member that lies in its vote, in its
// answer to a query, or as a termination leader once the coordinator is
// gone is believed. Peers are trusted to fail by crashing, not by lying.

// Refused is a message the machine did not act on: its sender has no say
// in that transaction here, now. The host logs it (rate-limited) and may
// tell the sender; it keeps the connection, whose other traffic may be
// legitimate.
type Refused struct {
	TxID   string
	From   string
	Type   wire.Type
	Reason string
}

func (Refused) effect() {}

// PeerDecision handles a COMMIT/ABORT sent by another participant (by its
// connection's role): a 3PC termination leader announcing its outcome.
func (p *Participant) PeerDecision(from string, m *wire.Decision) []Effect {
	if err := p.peerMayDecide(from, m); err != nil {
		return []Effect{Refused{TxID: m.TxID, From: from, Type: wire.TypeDecision, Reason: err.Error()}}
	}
	return p.Decision(from, m)
}

// PeerPreCommit handles a PRE-COMMIT sent by another participant: a 3PC
// termination leader pre-committing the READY members.
func (p *Participant) PeerPreCommit(from string, m *wire.PreCommit) []Effect {
	if t := p.txns[m.TxID]; t != nil && t.pending == pendNone && t.state == wire.StateReady {
		if err := p.mayLead(t, from); err != nil {
			return []Effect{Refused{TxID: m.TxID, From: from, Type: wire.TypePreCommit, Reason: err.Error()}}
		}
	}
	// Otherwise it changes nothing: never voted, busy logging, or already
	// PRECOMMITTED or decided (the ack says which).
	return p.PreCommit(from, m)
}

// peerMayDecide says why peer from may not decide m's transaction here;
// nil if it may, or if its Decision cannot change anything here.
func (p *Participant) peerMayDecide(from string, m *wire.Decision) error {
	t := p.txns[m.TxID]
	switch {
	case t == nil:
		if _, ok := p.gone.get(m.TxID); ok || m.Commit {
			return nil // acknowledged, nothing changes
		}
		return fmt.Errorf("%s is not prepared here: a peer does not abort it by a Decision (a termination round's Query does)", m.TxID)
	case t.heur != nil:
		// Resolved by an operator: a contradicting decision is only noted
		// (heuristic damage). In 3PC any member may have led without us,
		// since a resolved participant answers no peer.
		if t.protocol != wire.ThreePC {
			return fmt.Errorf("%s runs 2PC: only its coordinator decides it", t.id)
		}
		if !t.isMember(from) {
			return fmt.Errorf("%s is no member of %s", from, t.id)
		}
		return nil
	case t.pending == pendCommitted || t.pending == pendAborted || t.state.Final():
		return nil // decided here already: acknowledged, nothing changes
	case t.protocol == wire.ThreePC && t.state == wire.StateUnknown && !m.Commit && t.isMember(from):
		// Not voted yet (PREPARED being written): a termination leader
		// that did not hear us announces ABORT to us too. Aborting before
		// voting is ours to do at any time, and a member could make the
		// transaction abort anyway, by voting NO: this gives it nothing.
		return nil
	case t.protocol == wire.Parallel && t.isMember(from):
		// PARALLEL: a member announces only what the members' durable
		// votes fixed (participant_parallel.go), whoever tells it.
		return nil
	}
	return p.mayLead(t, from)
}

// mayLead says why peer from may not act as t's termination leader here
// now; nil if it may.
func (p *Participant) mayLead(t *ptx, from string) error {
	switch {
	case t.protocol != wire.ThreePC:
		return fmt.Errorf("%s runs 2PC: only its coordinator decides or pre-commits it; a peer's word is its answer to our own query", t.id)
	case !t.isMember(from):
		return fmt.Errorf("%s is no member of %s", from, t.id)
	case t.state != wire.StateReady && t.state != wire.StatePrecommitted:
		return fmt.Errorf("%s has no vote here yet: nobody but its coordinator may move it", t.id)
	case from >= p.cfg.NodeID:
		return fmt.Errorf("%s cannot lead the termination of %s for %s: a leader has a lower id than every member it heard from", from, t.id, p.cfg.NodeID)
	case !t.suspects():
		return fmt.Errorf("the coordinator %s of %s is not silent here: only it decides", t.coord, t.id)
	}
	return nil
}

// suspects reports whether this participant finds t's coordinator silent:
// its last tick found it silent (a peer round is open), and it has not
// been heard from since.
func (t *ptx) suspects() bool { return t.roundOpen && !t.coordAlive }

// errUnasked is a peer's answer to a question this participant never put.
var errUnasked = errors.New("this participant has not asked its peers about it (it does once its coordinator has been silent for a whole interval): an answer nobody asked for")
