package protocol

import (
	"fmt"

	"github.com/txd/txd/wire"
)

// Heuristic decisions: an operator who knows a transaction's outcome (the
// coordinator is gone for good) applies it to a participant that holds the
// transaction in doubt, with `txcli resolve`. The participant forces a
// HEURISTIC record, then applies the outcome, releases the locks and
// answers; the record keeps the outcome marked as heuristic across restarts
// and checkpoints.
//
// If a decision arrives later (the coordinator came back, or a 3PC
// termination leader decided) and agrees, it is acknowledged as usual. If
// it contradicts, the participant cannot undo what it did: it forces a
// HEURISTIC-DAMAGE note, raises an Alarm, keeps its outcome and
// acknowledges, so that the coordinator can finish. Every Ack of a
// heuristic outcome carries Heuristic, so the coordinator knows too.
//
// Peers asking about it (2PC cooperative termination, 3PC termination) and
// a recovering 3PC coordinator get no answer: to them this participant is
// down. A heuristic outcome is a guess, not protocol evidence. Cooperative
// termination adopts a peer's COMMITTED because a participant commits only
// after the coordinator decided COMMIT, and the 3PC rules read COMMITTED as
// "everyone voted yes" and ABORTED as "no commit decision can exist"; none
// of that holds for an operator's guess. Answering with it would spread a
// wrong guess to nodes the operator never touched, as if the protocol had
// decided it; silence keeps any damage on the node the operator resolved,
// and every termination rule already copes with a silent (crashed) member:
// 2PC peers keep waiting for the coordinator, 3PC peers decide among the
// others. An operator who wants every participant to share the outcome
// resolves each one.

// heuristic is what a participant knows of an operator's decision on a
// transaction.
type heuristic struct {
	commit     bool       // the operator's outcome
	durable    bool       // its record is durable and the outcome applied
	damage     string     // a contradicting decision: who decided what ("" none)
	damageFrom string     // who sent it, to be acknowledged once the note is durable
	waiters    []resolver // requests answered once the record is durable
}

// resolver is a Resolve request waiting for its answer.
type resolver struct {
	to    Origin
	reqID uint64
}

// Alarm asks the host to log, at error level, something an operator must
// act on: heuristic damage (a heuristic outcome contradicted by the
// decision) that the participant cannot undo.
type Alarm struct {
	TxID      string
	Msg       string
	Heuristic wire.State // our outcome, applied by an operator
	Decided   wire.State // the outcome the protocol decided
	From      string     // who sent that decision
}

func (Alarm) effect() {}

// applied reports whether the transaction holds a durable heuristic outcome.
func (h *heuristic) applied() bool { return h != nil && h.durable }

// status marks a status as heuristic; nil adds nothing.
func (h *heuristic) status(st *wire.TxStatus) {
	if !h.applied() {
		return
	}
	st.Heuristic = true
	if h.damage != "" {
		st.Damage = true
		st.Reason = "heuristic damage: " + h.damage
	}
}

func outcome(commit bool) wire.State {
	if commit {
		return wire.StateCommitted
	}
	return wire.StateAborted
}

// heuristicReason is a heuristic outcome's reason in status; forced: the
// operator overrode txcli's safety checks (wire.Resolve.Force).
func heuristicReason(commit bool, was wire.State, forced bool) string {
	if forced {
		return fmt.Sprintf("heuristic %s by an operator (txcli resolve --force, past its safety checks) while %s", verb(commit), was)
	}
	return fmt.Sprintf("heuristic %s by an operator (txcli resolve) while %s", verb(commit), was)
}

func verb(commit bool) string {
	if commit {
		return "COMMIT"
	}
	return "ABORT"
}

// Resolve handles an operator's request to apply an outcome (m.Commit) to
// an in-doubt transaction. to names the requester for the Answer.
func (p *Participant) Resolve(to Origin, m *wire.Resolve) []Effect {
	res := &wire.ResolveResult{ReqID: m.ReqID, TxID: m.TxID}
	answer := func() []Effect { return []Effect{Answer{To: to, Peer: "client", Msg: res}} }
	refuse := func(format string, args ...any) []Effect {
		res.Refused, res.Reason = true, fmt.Sprintf(format, args...)
		return answer()
	}
	t := p.txns[m.TxID]
	if t == nil {
		if s, ok := p.gone.get(m.TxID); ok {
			return p.resolveDecided(res, m.Commit, s.State, s.Heuristic, answer, refuse)
		}
		return refuse("transaction %s is not known here (never prepared here, or forgotten long ago): nothing to resolve", m.TxID)
	}
	res.State = t.state
	switch {
	case t.pending == pendHeuristic:
		if t.heur.commit != m.Commit {
			return refuse("transaction %s is being resolved heuristically as %s by another request", m.TxID, verb(t.heur.commit))
		}
		t.heur.waiters = append(t.heur.waiters, resolver{to, m.ReqID})
		return nil
	case t.pending == pendCommitted || t.pending == pendAborted:
		return refuse("transaction %s is not in doubt: its outcome %s is being logged right now", m.TxID, verb(t.pending == pendCommitted))
	case t.state.Final():
		return p.resolveDecided(res, m.Commit, t.state, t.heur.applied(), answer, refuse)
	case t.state != wire.StateReady && t.state != wire.StatePrecommitted:
		return refuse("transaction %s is not in doubt: this participant has not voted on it yet", m.TxID)
	}
	// In doubt (a PRE-COMMIT being logged included: the operator's outcome
	// overtakes it, and Logged ignores the PRECOMMIT).
	t.pending = pendHeuristic
	t.heur = &heuristic{commit: m.Commit, waiters: []resolver{{to, m.ReqID}}}
	rec := Record{Kind: RecHeuristic, TxID: t.id, Protocol: t.protocol,
		Commit: m.Commit, Reason: heuristicReason(m.Commit, t.state, m.Force),
		Coord: t.coord, CoordAddr: t.coordAddr}
	if m.Commit {
		// The commit's number is taken now, in log order; the writes
		// reach the store once the record is durable (applyHeuristic).
		p.applied++
		rec.Seq, t.applySeq = p.applied, p.applied
	}
	return []Effect{Persist{Force: true, Rec: rec}}
}

// resolveDecided answers a request about a transaction already decided
// here: the same way is an idempotent success, the other way a refusal.
func (p *Participant) resolveDecided(res *wire.ResolveResult, commit bool, state wire.State, heur bool,
	answer func() []Effect, refuse func(string, ...any) []Effect) []Effect {
	res.State, res.Heuristic = state, heur
	how := "by the protocol"
	if heur {
		how = "heuristically"
	}
	if state == outcome(commit) {
		res.Reason = fmt.Sprintf("transaction %s is already %s here (%s): nothing to do", res.TxID, state, how)
		return answer()
	}
	return refuse("transaction %s is already %s here (%s): a participant cannot undo an outcome, refusing to %s",
		res.TxID, state, how, verb(commit))
}

// heuristicLogged: a HEURISTIC or HEURISTIC-DAMAGE record is durable.
func (p *Participant) heuristicLogged(t *ptx, rec Record) []Effect {
	switch {
	case rec.Kind == RecHeuristic && t.pending == pendHeuristic:
		t.pending = pendNone
		if err := p.applyHeuristic(t, rec); err != nil {
			panic(err) // the store cannot be read (apply.go)
		}
		eff := make([]Effect, 0, len(t.heur.waiters))
		for _, w := range t.heur.waiters {
			eff = append(eff, Answer{To: w.to, Peer: "client", Msg: &wire.ResolveResult{ReqID: w.reqID, TxID: t.id,
				State: t.state, Applied: true, Heuristic: true, Reason: t.reason}})
		}
		t.heur.waiters = nil
		return eff
	case rec.Kind == RecHeuristicDamage && t.pending == pendDamage:
		t.pending = pendNone
		return []Effect{p.ackTo(t, t.heur.damageFrom)}
	}
	return nil
}

// applyHeuristic makes the operator's outcome the transaction's: the
// store changes (on COMMIT) and the locks go, once.
func (p *Participant) applyHeuristic(t *ptx, rec Record) error {
	if t.heur == nil {
		t.heur = &heuristic{commit: rec.Commit}
	}
	if !t.state.Final() {
		if rec.Commit {
			if err := p.commitAt(t, rec.Seq); err != nil {
				return err
			}
		}
		p.unlock(t)
	}
	t.state, t.reason, t.heur.durable, t.outcomeAt = outcome(rec.Commit), rec.Reason, true, rec.Time
	return nil
}

// heuristicDecision handles a COMMIT/ABORT for a transaction an operator
// resolved (or is resolving).
func (p *Participant) heuristicDecision(from string, t *ptx, m *wire.Decision) []Effect {
	if t.pending != pendNone {
		return nil // our record is being logged; the sender retransmits
	}
	if outcome(m.Commit) == t.state || t.heur.damage != "" {
		return []Effect{p.ackTo(t, from)}
	}
	who := "the coordinator " + from
	if from != t.coord {
		who = from // a 3PC termination leader
	}
	t.heur.damage = fmt.Sprintf("%s decided %s", who, verb(m.Commit))
	t.heur.damageFrom = from
	t.pending = pendDamage
	return []Effect{
		Alarm{TxID: t.id, Msg: "heuristic damage: " + t.heur.damage + ", but an operator had made it " + string(t.state) +
			" here (txcli resolve); the outcome cannot be undone, the transaction is not atomic",
			Heuristic: t.state, Decided: outcome(m.Commit), From: from},
		Persist{Force: true, Rec: Record{Kind: RecHeuristicDamage, TxID: t.id, Protocol: t.protocol,
			Commit: m.Commit, Reason: t.heur.damage, Coord: from}},
	}
}

// replayHeuristic rebuilds a heuristic outcome from the log. A HEURISTIC
// record alone (a checkpoint's) describes a transaction whose effect is
// already in the checkpointed store.
func (p *Participant) replayHeuristic(t *ptx, rec Record) error {
	if rec.Kind == RecHeuristicDamage {
		if t != nil && t.heur != nil {
			t.heur.damage, t.heur.damageFrom = rec.Reason, rec.Coord
		}
		return nil
	}
	if t == nil {
		t = p.add(rec.TxID, rec.Protocol)
		t.coord, t.coordAddr = rec.Coord, rec.CoordAddr
	}
	return p.applyHeuristic(t, rec)
}

// heuristicRecords are the log records that rebuild a resolved (or being
// resolved) transaction in a checkpoint.
func (t *ptx) heuristicRecords() []Record {
	h := t.heur
	rec := Record{Kind: RecHeuristic, TxID: t.id, Protocol: t.protocol, Commit: h.commit, Reason: t.reason,
		Coord: t.coord, CoordAddr: t.coordAddr, Seq: t.applySeq}
	if !h.durable {
		// Still being logged: PREPARED first, so that replay applies it.
		rec.Reason = heuristicReason(h.commit, t.state, false)
		return []Record{{Kind: RecPrepared, TxID: t.id, Protocol: t.protocol, Ops: t.ops,
			Coord: t.coord, CoordAddr: t.coordAddr, Members: t.members}, rec}
	}
	recs := []Record{rec}
	if h.damage != "" {
		recs = append(recs, Record{Kind: RecHeuristicDamage, TxID: t.id, Protocol: t.protocol,
			Commit: !h.commit, Reason: h.damage, Coord: h.damageFrom})
	}
	return recs
}
