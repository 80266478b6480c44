package protocol

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/txd/txd/wire"
)

// CoordConfig is what every coordinator-side transaction needs to know.
type CoordConfig struct {
	NodeID string        // the coordinator's id, sent in PREPARE
	Addr   string        // where participants reach the coordinator ("" host: theirs to fill)
	Vote   time.Duration // how long to wait for all votes before aborting
	Delay  time.Duration // pause between a durable decision and phase two (the seed's window)
}

type coordPhase uint8

const (
	phVoting     coordPhase = iota + 1 // PREPARE sent, collecting votes
	phLogging                          // decision handed to the log, not yet durable
	phDelay                            // decision durable, waiting out --delay
	phDelivering                       // decision sent, collecting acks
	phDone                             // every needed ack arrived; END logged

	// 3PC only (coordinator3pc.go).
	phPreLogging // every vote YES, waiting for BEGIN to be durable
	phPreDelay   // PRE-COMMIT durable, waiting out --delay
	phPreAcking  // PRE-COMMIT sent, collecting acks
	phQuerying   // recovered without a decision: asking the participants
)

// CoordTxn is the coordinator's side of one transaction, presumed-abort 2PC
// or 3PC: a pure state machine. Each method takes one event and returns the
// effects the host must carry out, in order.
type CoordTxn struct {
	cfg       CoordConfig
	id        string
	protocol  wire.Protocol
	members   []wire.Member
	ops       map[string][]wire.Op
	phase     coordPhase
	state     map[string]wire.State // each member's state as far as we know
	need      map[string]bool       // members whose ack of the decision we wait for
	commit    bool
	reason    string
	seq       uint64                // current timer; older fires are ignored
	recovered bool                  // rebuilt from the log after a restart
	replies   map[string]wire.State // 3PC recovery: what each participant said
	heur      map[string]wire.State // outcomes participants acked as heuristic (coordheuristic.go)
	told      bool                  // the client was told the outcome before it was durable (3PC, decideCertain)
	tooOldRun bool                  // a member had committed an earlier run of this id (coordtooold.go)
	// beginDurable: 3PC forces BEGIN (coordinator3pc.go) and sends
	// PRE-COMMIT only once it is durable.
	beginDurable bool

	node hosting // what the Coordinator keeps besides the protocol (coordnode.go)
}

// NewCoordTxn prepares a fresh transaction. ops maps each member id to the
// operations it runs; members lists them in a stable order.
func NewCoordTxn(cfg CoordConfig, id string, proto wire.Protocol, members []wire.Member, ops map[string][]wire.Op) *CoordTxn {
	t := &CoordTxn{cfg: cfg, id: id, protocol: proto, members: members, ops: ops,
		state: make(map[string]wire.State, len(members))}
	for _, m := range members {
		t.state[m.ID] = wire.StateInit
	}
	return t
}

// RecoverCoordTxn rebuilds a transaction from the log of a restarted
// coordinator. With a decision, the decision is delivered again to every
// member. Without one, a 2PC transaction is aborted (presumed abort: no
// participant can have been told to commit); a 3PC one may have been decided
// by the participants' termination protocol meanwhile, so the coordinator
// asks them and follows the same rules rather than impose its own log.
func RecoverCoordTxn(cfg CoordConfig, id string, proto wire.Protocol, members []wire.Member, decided, commit bool, reason string) *CoordTxn {
	t := NewCoordTxn(cfg, id, proto, members, nil)
	t.recovered = true
	if decided {
		t.commit, t.reason = commit, reason
		t.phase = phLogging // Start moves on as if the record just became durable
	}
	return t
}

// ID returns the transaction id.
func (t *CoordTxn) ID() string { return t.id }

// Start begins the transaction (or resumes a recovered one).
func (t *CoordTxn) Start() []Effect {
	if t.recovered {
		if t.phase == phLogging {
			return t.deliver(nil, false)
		}
		if t.protocol == wire.ThreePC {
			return t.startQuery()
		}
		if t.parallel() {
			return t.parallelAsk()
		}
		return t.decide(false, "coordinator restarted before a decision")
	}
	t.phase = phVoting
	// 2PC logs BEGIN lazily (presumed abort needs no record of an
	// undecided transaction); 3PC forces it (coordinator3pc.go).
	eff := []Effect{Persist{Force: t.protocol == wire.ThreePC,
		Rec: Record{Kind: RecBegin, TxID: t.id, Protocol: t.protocol, Members: t.members, Digest: digestText(t.node.digest)}}}
	for _, m := range t.members {
		eff = append(eff, Send{To: m.ID, Addr: m.Addr, Msg: &wire.Prepare{
			TxID: t.id, Protocol: t.protocol, Ops: t.ops[m.ID],
			Coord: t.cfg.NodeID, CoordAddr: t.cfg.Addr, Members: t.members,
		}})
	}
	return append(eff, t.timer(t.cfg.Vote))
}

// Vote handles a participant's vote.
func (t *CoordTxn) Vote(v *wire.Vote) []Effect {
	cur, member := t.state[v.From]
	if !member {
		return nil
	}
	if t.parallel() && (t.phase == phVoting || t.phase == phQuerying) && cur == wire.StateInit {
		return t.parallelVote(v) // coordparallel.go
	}
	if !v.Yes && v.Known == wire.StateCommitted && (cur == wire.StateInit || cur == wire.StateAborted) {
		t.state[v.From] = wire.StateAborted
		return t.tooOld(v)
	}
	if t.phase == phVoting {
		if cur != wire.StateInit {
			return nil // duplicate
		}
		if !v.Yes {
			t.state[v.From] = wire.StateAborted
			return t.decide(false, fmt.Sprintf("%s: %s", v.From, orDefault(v.Reason, "voted no")))
		}
		t.state[v.From] = wire.StateReady
		for _, s := range t.state {
			if s != wire.StateReady {
				return nil
			}
		}
		if t.protocol == wire.ThreePC {
			return t.preDecide()
		}
		return t.decide(true, "")
	}
	// A late vote. A NO changes nothing. A YES after an ABORT decision means
	// that participant now holds locks: it must hear the ABORT and ack it.
	if !v.Yes || cur != wire.StateInit {
		if !v.Yes && cur == wire.StateInit {
			t.state[v.From] = wire.StateAborted
		}
		return nil
	}
	t.state[v.From] = wire.StateReady
	if t.commit || t.phase > phDone {
		return nil
	}
	if t.phase == phDone {
		// Finished: nothing more is awaited, but it holds locks; tell it
		// now rather than when it asks.
		return []Effect{t.decisionTo(v.From)}
	}
	if t.phase == phDelivering {
		t.need[v.From] = true
		return []Effect{t.decisionTo(v.From)}
	}
	return nil // phLogging/phDelay: deliver() will include it
}

// Ack handles a participant's acknowledgement of the decision.
func (t *CoordTxn) Ack(a *wire.Ack) []Effect {
	t.noteHeuristic(a)
	if t.phase == phPreAcking {
		return t.preAck(a)
	}
	if _, member := t.state[a.From]; !member || t.phase != phDelivering || !a.State.Final() {
		return nil
	}
	t.state[a.From] = a.State
	if !t.need[a.From] {
		return nil
	}
	delete(t.need, a.From)
	return t.finishIfDone()
}

// Query answers a participant asking about the transaction: the decision
// once phase two has begun. Before that (still voting, logging, or waiting
// out --delay) it returns nothing, and the host says "undecided, alive": the
// delay is the seed's window in which the coordinator has decided but no
// participant can know it.
func (t *CoordTxn) Query(from string) []Effect {
	if _, member := t.state[from]; !member {
		return nil
	}
	if t.phase == phDelivering || t.phase == phDone {
		return []Effect{t.decisionTo(from)}
	}
	return nil
}

// Unreachable: the host found a member down (its connection lost, and a
// dial begun after this transaction started failed, why says how). While
// its vote is still awaited, the vote timeout would only hold the client:
// abort now, saying why. A member that has voted, and every later phase,
// are unaffected: the decision is retransmitted until it is back.
func (t *CoordTxn) Unreachable(member, why string) []Effect {
	if t.parallel() {
		return nil // its YES may be durable: it is asked until it answers (coordparallel.go)
	}
	if t.phase != phVoting || t.state[member] != wire.StateInit {
		return nil
	}
	return t.decide(false, fmt.Sprintf("participant %s unreachable: %s", member, why))
}

// Timer handles a timer set by an earlier SetTimer.
func (t *CoordTxn) Timer(seq uint64) []Effect {
	if seq != t.seq {
		return nil
	}
	if t.parallel() && (t.phase == phVoting || t.phase == phQuerying) {
		return t.parallelAsk()
	}
	switch t.phase {
	case phVoting:
		var missing []string
		for _, m := range t.members {
			if t.state[m.ID] == wire.StateInit {
				missing = append(missing, m.ID)
			}
		}
		return t.decide(false, fmt.Sprintf("no vote from %s within %v", strings.Join(missing, ", "), t.cfg.Vote))
	case phDelay:
		return t.deliver(nil, false)
	case phPreDelay:
		return t.sendPreCommit()
	case phPreAcking:
		// Everyone voted YES; a participant that missed PRE-COMMIT learns
		// the outcome from the retransmitted decision or by recovery.
		return t.decide(true, "")
	case phQuerying:
		return t.queryTimeout()
	}
	return nil
}

// Logged reports that a forced record is durable.
func (t *CoordTxn) Logged(rec Record) []Effect {
	if rec.Kind == RecBegin && !t.beginDurable {
		t.beginDurable = true
		if t.phase == phPreLogging {
			return t.preLogged()
		}
		return nil
	}
	if rec.Kind != RecDecision || t.phase != phLogging {
		return nil
	}
	if t.cfg.Delay > 0 && !t.recovered { // the delay is a window for a crash, not for recovery
		t.phase = phDelay
		return append(t.reply(nil), t.timer(t.cfg.Delay))
	}
	return t.deliver(nil, true)
}

// reply tells the clients the durable outcome, unless they heard it before
// it was durable (told).
func (t *CoordTxn) reply(eff []Effect) []Effect {
	if t.told {
		return eff
	}
	return append(eff, Reply{TxID: t.id, Outcome: t.Outcome(), Reason: t.reason, TooOld: t.tooOldRun})
}

// decide hands the decision to the log; nothing is sent until it is durable.
func (t *CoordTxn) decide(commit bool, reason string) []Effect {
	// The reason stays with the outcome (in memory, in the log, in every
	// ABORT sent): short, whatever a participant's vote said.
	reason = wire.ShortReason(reason)
	t.commit, t.reason, t.phase = commit, reason, phLogging
	t.seq++ // the vote timer is void now
	return []Effect{Persist{Force: true, Rec: Record{Kind: RecDecision, TxID: t.id,
		Protocol: t.protocol, Commit: commit, Reason: reason, Members: t.members}}}
}

// deliver sends the decision. COMMIT must reach every member. ABORT must
// reach those that voted YES (they hold locks); the others get it once, as a
// courtesy, and learn it by presumed abort if that is lost. A recovered
// transaction does not know who voted, so it waits for everyone, and so it
// sends to everyone, even a member known to be ABORTED (from a NO vote or a
// 3PC query reply): that member's ack is awaited too.
//
// With reply, the clients hear the outcome after the decision is handed to
// the members' connections, not before: a client's next transaction on the
// same keys then reaches each member behind this one's decision (one
// connection per member, in order), never ahead of it, where it would find
// the keys still locked.
func (t *CoordTxn) deliver(eff []Effect, reply bool) []Effect {
	t.phase = phDelivering
	t.need = make(map[string]bool, len(t.members))
	for _, m := range t.members {
		s := t.state[m.ID]
		if t.commit || t.recovered || s == wire.StateReady || s == wire.StatePrecommitted {
			t.need[m.ID] = true
		}
		if s != wire.StateAborted || t.commit || t.recovered {
			eff = append(eff, t.decisionTo(m.ID))
		}
	}
	if reply {
		eff = t.reply(eff)
	}
	return append(eff, t.finishIfDone()...)
}

func (t *CoordTxn) finishIfDone() []Effect {
	if len(t.need) > 0 || t.phase == phDone {
		return nil
	}
	t.phase = phDone
	return []Effect{
		// PARALLEL forces END (off the client's path) before its members
		// may forget: its DECISION is lazy, and a coordinator that lost it
		// asks them (coordparallel.go).
		Persist{Force: t.parallel(), Rec: Record{Kind: RecEnd, TxID: t.id, Protocol: t.protocol}},
		Finished{TxID: t.id},
	}
}

func (t *CoordTxn) decisionTo(id string) Effect {
	addr := ""
	for _, m := range t.members {
		if m.ID == id {
			addr = m.Addr
		}
	}
	return Send{To: id, Addr: addr, Msg: &wire.Decision{TxID: t.id, Commit: t.commit, Reason: t.reason}}
}

func (t *CoordTxn) timer(d time.Duration) Effect {
	t.seq++
	return SetTimer{TxID: t.id, Seq: t.seq, After: d}
}

// Decided reports whether the decision is durable, and which it is.
func (t *CoordTxn) Decided() (decided bool, outcome wire.State, reason string) {
	if t.phase == phDelay || t.phase == phDelivering || t.phase == phDone {
		return true, t.Outcome(), t.reason
	}
	return false, "", ""
}

// Outcome is COMMITTED or ABORTED once decided (or being logged),
// PRECOMMITTED in 3PC's middle phase, INIT before.
func (t *CoordTxn) Outcome() wire.State {
	switch t.phase {
	case phLogging, phDelay, phDelivering, phDone:
		if t.commit {
			return wire.StateCommitted
		}
		return wire.StateAborted
	case phPreDelay, phPreAcking:
		return wire.StatePrecommitted
	}
	return wire.StateInit
}

// Status is the transaction as the coordinator sees it.
func (t *CoordTxn) Status() wire.TxStatus {
	st := wire.TxStatus{TxID: t.id, Protocol: t.protocol, Reason: t.reason,
		Participants: make(map[string]wire.State, len(t.state))}
	st.State = t.Outcome()
	if t.phase == phLogging && !t.told {
		st.State = wire.StateInit // not durable yet, and it could still change
	}
	for id, s := range t.state {
		st.Participants[id] = s
	}
	t.heuristicStatus(&st)
	return st
}

// MemberIDs lists the members' ids, sorted.
func (t *CoordTxn) MemberIDs() []string {
	ids := make([]string, 0, len(t.members))
	for _, m := range t.members {
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	return ids
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Members lists the transaction's participants in their stable order.
func (t *CoordTxn) Members() []wire.Member { return t.members }
