package protocol

import (
	"fmt"
	"sort"
	"time"

	"github.com/txd/txd/wire"
)

// ParticipantConfig is what a participant's state machine needs to know.
type ParticipantConfig struct {
	NodeID string
	// Timeout is how long a READY participant waits for the outcome before
	// it asks the coordinator, and then how often it asks again.
	Timeout time.Duration
	// Store holds the applied data; nil: a new MemStore.
	Store Store
}

// pending is a forced record of a transaction that is not durable yet.
type pending uint8

const (
	pendNone         pending = iota
	pendPrepared             // PREPARED handed to the log; the YES vote waits for it
	pendCommitted            // COMMIT handed to the log; apply and ack wait for it
	pendAborted              // ABORT handed to the log; unlock and ack wait for it
	pendPrecommitted         // 3PC: PRECOMMIT handed to the log; the ack waits for it
	pendHeuristic            // an operator's outcome handed to the log (heuristic.go)
	pendDamage               // a decision contradicting it: the note is logged, the ack waits
)

// ptx is one transaction as a participant sees it.
type ptx struct {
	id        string
	protocol  wire.Protocol
	state     wire.State // StateUnknown until PREPARED is durable
	pending   pending
	ops       []wire.Op
	writes    []wire.Op // ops resolved at PREPARE, until applied (apply.go)
	applySeq  uint64    // the commit's apply sequence number, once committed
	coord     string
	coordAddr string
	members   []wire.Member
	reason    string
	seq       uint64 // current timer

	// Termination (termination.go).
	round      map[string]wire.State // peers' answers in the current round
	roundOpen  bool                  // a round of queries to the peers is out
	asked      bool                  // the coordinator was asked at the last tick
	coordAlive bool                  // the coordinator answered since the round began
	askedPeers bool                  // we asked the peers (a round opened): their answers count
	announce   bool                  // we lead: tell every member our outcome once durable
	preFrom    string                // who sent the PRE-COMMIT being logged
	queriers   []string              // nodes waiting for our answer until a record is durable
	forgetDone bool                  // the coordinator ended it while our outcome was being logged
	noVote     bool                  // PARALLEL: a NO vote waits for its ABORT to be durable (participant_parallel.go)

	heur *heuristic // set once an operator resolves it (heuristic.go)
	// When its records were appended (Record.Time): by Replay, and by
	// Logged for the forced ones, as their Durable reports them. A
	// checkpoint keeps them for traces; status shows them (Prepared,
	// Decided).
	preparedAt, precommitAt, outcomeAt int64
}

// Participant is a participant's whole protocol state: its store, its lock
// table and every transaction it knows. It is a pure state machine: methods
// take one event and return the effects the host must carry out, in order.
type Participant struct {
	cfg   ParticipantConfig
	store Store
	locks map[string]string // key → id of the prepared transaction holding it
	txns  map[string]*ptx
	order []*ptx  // transactions in the order first seen (for status); dropped ones are skipped
	live  int     // entries of order still in txns
	gone  history // recently forgotten transactions, for status and queries

	// applied is the last apply sequence number taken; base is the
	// store's at start (apply.go).
	applied, base uint64
}

// NewParticipant returns an empty participant; feed it its log with Replay.
func NewParticipant(cfg ParticipantConfig) *Participant {
	if cfg.Store == nil {
		cfg.Store = NewMemStore()
	}
	base := cfg.Store.Seq()
	return &Participant{cfg: cfg, store: cfg.Store, applied: base, base: base, locks: map[string]string{}, txns: map[string]*ptx{}}
}

// Replay applies one record from the log, during startup.
func (p *Participant) Replay(rec Record) error {
	t := p.txns[rec.TxID]
	switch rec.Kind {
	case RecPrepared:
		if t != nil {
			return nil // a retransmitted PREPARE logged twice; the first counts
		}
		t = p.add(rec.TxID, rec.Protocol)
		t.state, t.ops, t.coord, t.coordAddr, t.members = wire.StateReady, rec.Ops, rec.Coord, rec.CoordAddr, rec.Members
		t.preparedAt = rec.Time
		p.lock(t)
	case RecPreCommit:
		if t != nil && t.state == wire.StateReady {
			t.state, t.precommitAt = wire.StatePrecommitted, rec.Time
		}
	case RecCommit:
		if t == nil {
			t = p.add(rec.TxID, rec.Protocol)
		}
		if !t.state.Final() {
			if err := p.commitAt(t, rec.Seq); err != nil {
				return err
			}
			p.unlock(t)
			t.state, t.outcomeAt = wire.StateCommitted, rec.Time
		}
	case RecAbort:
		if t == nil {
			t = p.add(rec.TxID, rec.Protocol)
		}
		if !t.state.Final() {
			p.unlock(t)
			t.state, t.reason, t.outcomeAt = wire.StateAborted, rec.Reason, rec.Time
		}
	case RecStore:
		return p.replayStore(rec)
	case RecForget:
		p.drop(rec.TxID)
	case RecHeuristic, RecHeuristicDamage:
		return p.replayHeuristic(t, rec)
	default:
		return fmt.Errorf("participant log: unexpected record %v for %s", rec.Kind, rec.TxID)
	}
	return nil
}

// Recovered is called once after the log is replayed: every in-doubt
// transaction asks its coordinator for the outcome at once, and keeps asking.
func (p *Participant) Recovered() []Effect {
	var eff []Effect
	for _, t := range p.order {
		if p.txns[t.id] == t && (t.state == wire.StateReady || t.state == wire.StatePrecommitted) {
			t.asked = true
			eff = append(eff, p.query(t), p.timer(t))
		}
	}
	return eff
}

// Prepare handles PREPARE: validate, lock, force PREPARED, then vote YES
// (from Logged); or vote NO at once.
func (p *Participant) Prepare(m *wire.Prepare) []Effect {
	if s, ok := p.gone.get(m.TxID); ok && p.txns[m.TxID] == nil {
		// Finished and forgotten: never prepare it again.
		return []Effect{p.knownVote(m, s.State, "transaction "+m.TxID+" already "+string(s.State)+" here")}
	}
	if t := p.txns[m.TxID]; t != nil {
		switch {
		case t.pending == pendPrepared:
			return nil // the vote goes out when PREPARED is durable
		case t.pending == pendAborted:
			// Maybe still READY in memory, but aborting: a YES would let a
			// new run of the same id (a coordinator that lost it restarted,
			// and the client retried) commit over our ABORT. The NO goes
			// to the retransmitted PREPARE, once the ABORT is durable.
			return nil
		case t.state == wire.StateReady || t.state == wire.StatePrecommitted:
			return []Effect{p.vote(t, true, "")}
		case t.state == wire.StateCommitted:
			return []Effect{p.knownVote(m, wire.StateCommitted, "transaction "+m.TxID+" already committed here")}
		case t.state == wire.StateAborted:
			return []Effect{p.knownVote(m, wire.StateAborted, orDefault(t.reason, "transaction "+m.TxID+" already aborted here"))}
		}
		return nil
	}
	t := p.add(m.TxID, m.Protocol)
	t.ops, t.coord, t.coordAddr, t.members = m.Ops, m.Coord, m.CoordAddr, m.Members
	reason := ""
	if err := wire.CheckOps(m.Ops); err != nil {
		reason = err.Error()
	} else if k, holder := p.conflict(m.Ops); holder != "" {
		reason = fmt.Sprintf("key %s is locked by %s", k, holder)
	} else if w, err := resolve(p.store.Get, m.Ops); err != nil {
		reason = err.Error()
	} else {
		t.writes = w // applied at COMMIT (apply.go)
	}
	if reason != "" && t.protocol == wire.Parallel {
		return p.parallelNo(t, reason) // a durable NO (participant_parallel.go)
	}
	if reason != "" {
		reason = wire.ShortReason(reason) // kept with the outcome and logged
		// Voting NO aborts unilaterally. ABORT is logged lazily: if it is
		// lost, presumed abort gives the same answer.
		t.state, t.reason = wire.StateAborted, reason
		return []Effect{
			Persist{Rec: Record{Kind: RecAbort, TxID: t.id, Protocol: t.protocol, Reason: reason}},
			p.vote(t, false, reason),
		}
	}
	p.lock(t) // from now on a conflicting PREPARE votes NO
	t.pending = pendPrepared
	return []Effect{Persist{Force: true, Rec: Record{Kind: RecPrepared, TxID: t.id, Protocol: t.protocol,
		Ops: t.ops, Coord: t.coord, CoordAddr: t.coordAddr, Members: t.members}}}
}

// Decision handles COMMIT/ABORT sent by node from: the coordinator (a
// participant's goes through PeerDecision first, peerword.go).
func (p *Participant) Decision(from string, m *wire.Decision) []Effect {
	t := p.txns[m.TxID]
	if t == nil {
		// Never prepared here (PREPARE lost, or it will arrive late). Log the
		// abort so a late PREPARE votes NO; a COMMIT cannot name a transaction
		// we never voted YES for, so just ack it.
		if s, ok := p.gone.get(m.TxID); ok {
			// Finished and forgotten (a retransmission overtaken by the
			// Forget): acknowledge, don't bring it back.
			return []Effect{Send{To: from, Msg: &wire.Ack{TxID: m.TxID, From: p.cfg.NodeID, State: s.State, Heuristic: s.Heuristic}}}
		}
		if m.Commit {
			return []Effect{Send{To: from, Msg: &wire.Ack{TxID: m.TxID, From: p.cfg.NodeID, State: wire.StateUnknown}}}
		}
		t = p.add(m.TxID, "")
		t.state, t.reason = wire.StateAborted, wire.ShortReason(m.Reason)
		return []Effect{Persist{Rec: Record{Kind: RecAbort, TxID: t.id, Reason: t.reason}},
			Send{To: from, Msg: &wire.Ack{TxID: m.TxID, From: p.cfg.NodeID, State: wire.StateAborted}}}
	}
	if t.heur != nil {
		return p.heuristicDecision(from, t, m)
	}
	if t.pending == pendCommitted || t.pending == pendAborted {
		return nil // the ack goes out when the outcome is durable
	}
	if t.state.Final() {
		// Answer the sender when the coordinator is not known here: a
		// transaction first heard of through an ABORT, or one replayed from
		// an ABORT record alone (a NO vote), has none.
		if t.coord == "" {
			return []Effect{Send{To: from, Msg: &wire.Ack{TxID: t.id, From: p.cfg.NodeID, State: t.state}}}
		}
		return []Effect{p.ack(t)}
	}
	if m.Commit && t.pending == pendPrepared {
		return nil // impossible: a commit needs our vote, which waits for PREPARED
	}
	return p.settle(t, m.Commit, m.Reason)
}

// settle logs the outcome, applies it and releases the locks at once; the
// ack follows in Logged, when the record is durable.
//
// Releasing the locks before the outcome is durable (early lock release) is
// safe because the log is written in order: a transaction that takes a
// released lock logs its PREPARED after this record, so it can only vote
// YES once this record is durable too; a crash before then loses both, and
// this one, still PREPARED in the log, is asked about and redone. The
// outcome is known for good already (the coordinator forced it first), so
// nothing can be undone. It lets the record wait for the next fsync instead
// of starting one (Defer): at one transaction at a time, the next PREPARE
// shares this record's fsync rather than queueing behind it.
func (p *Participant) settle(t *ptx, commit bool, reason string) []Effect {
	reason = wire.ShortReason(reason)
	rec := Record{Kind: RecAbort, TxID: t.id, Protocol: t.protocol, Reason: reason}
	t.pending = pendAborted
	if commit {
		rec.Kind, t.pending = RecCommit, pendCommitted
		rec.Seq = p.commitNow(t)
	}
	p.unlock(t)
	t.reason, t.writes = reason, nil
	return []Effect{Persist{Force: true, Defer: true, Rec: rec}}
}

// Logged reports that a forced record is durable.
func (p *Participant) Logged(rec Record) []Effect {
	t := p.txns[rec.TxID]
	if t == nil {
		return nil
	}
	switch rec.Kind {
	case RecPrepared:
		if t.pending != pendPrepared {
			return nil // an ABORT overtook it; that path answers
		}
		t.pending, t.state, t.preparedAt = pendNone, wire.StateReady, rec.Time
		return []Effect{p.vote(t, true, ""), p.timer(t)}
	case RecCommit:
		if t.pending != pendCommitted {
			return nil // reported twice
		}
		t.pending, t.state, t.outcomeAt = pendNone, wire.StateCommitted, rec.Time
		return p.settled(t)
	case RecAbort:
		if t.pending != pendAborted {
			return nil
		}
		t.pending, t.state, t.outcomeAt = pendNone, wire.StateAborted, rec.Time
		return p.settled(t)
	case RecPreCommit:
		if t.pending != pendPrecommitted {
			return nil // a decision overtook it
		}
		t.pending, t.state = pendNone, wire.StatePrecommitted
		eff := []Effect{p.timer(t)}
		if t.preFrom != "" && t.preFrom != p.cfg.NodeID {
			eff = append(eff, p.ackTo(t, t.preFrom))
		}
		return eff
	case RecHeuristic, RecHeuristicDamage:
		return p.heuristicLogged(t, rec)
	}
	return nil
}

// settled: the outcome is durable. Ack the coordinator, answer whoever
// asked meanwhile, and, as a termination leader, tell every member.
func (p *Participant) settled(t *ptx) []Effect {
	var eff []Effect
	if t.coord != "" {
		eff = append(eff, p.toCoord(t))
	}
	for _, q := range t.queriers {
		eff = append(eff, Send{To: q, Msg: &wire.QueryReply{TxID: t.id, From: p.cfg.NodeID, State: t.state}})
	}
	t.queriers = nil
	if t.forgetDone {
		defer p.drop(t.id)
		eff = append(eff, Persist{Rec: Record{Kind: RecForget, TxID: t.id}})
	}
	if t.announce {
		t.announce = false
		for _, m := range t.members {
			if m.ID != p.cfg.NodeID {
				eff = append(eff, Send{To: m.ID, Addr: m.Addr, Msg: &wire.Decision{
					TxID: t.id, Commit: t.state == wire.StateCommitted, Reason: t.reason}})
			}
		}
	}
	return eff
}

// Query answers someone asking what we know of a transaction: the
// coordinator after a restart, or a peer running a termination protocol.
func (p *Participant) Query(q *wire.Query) []Effect {
	t := p.txns[q.TxID]
	if t == nil {
		if s, ok := p.gone.get(q.TxID); ok {
			// Finished and forgotten: the answer is still known.
			return []Effect{Send{To: q.From, Msg: &wire.QueryReply{TxID: q.TxID, From: p.cfg.NodeID, State: s.State}}}
		}
		// Never voted: abort it here, so that it can never be prepared
		// later, and say so once that is durable. This is what lets a peer
		// in doubt conclude ABORT ("anyone not yet voted").
		t = p.add(q.TxID, "")
		t.queriers = append(t.queriers, q.From)
		return p.settle(t, false, "asked by "+q.From+" before it was prepared here")
	}
	if t.heur != nil {
		return nil // silent: a heuristic outcome is not protocol evidence (heuristic.go)
	}
	switch t.pending {
	case pendPrepared:
		return nil // our vote is on its way; the asker asks again
	case pendCommitted, pendAborted:
		t.queriers = append(t.queriers, q.From)
		return nil
	}
	return []Effect{Send{To: q.From, Msg: &wire.QueryReply{TxID: q.TxID, From: p.cfg.NodeID, State: t.state}}}
}

// Status returns a copy of the whole store and Transactions: for tests
// and simulators, whose stores are small. A host reports StoreSummary
// instead (reads.go).
func (p *Participant) Status() (map[string]string, []wire.TxStatus) {
	return p.storeMap(), p.Transactions()
}

// Transactions returns every transaction's state, oldest first:
// the recently forgotten ones, then those it holds. Transactions whose
// PREPARED is not yet durable are left out.
func (p *Participant) Transactions() []wire.TxStatus {
	txs := p.gone.list()
	for _, t := range p.order {
		if p.txns[t.id] != t || t.state == wire.StateUnknown {
			continue
		}
		txs = append(txs, t.status())
	}
	return txs
}

func (t *ptx) status() wire.TxStatus {
	st := wire.TxStatus{TxID: t.id, Protocol: t.protocol, State: t.state, Reason: t.reason,
		Prepared: t.preparedAt, Decided: t.outcomeAt}
	if !t.state.Final() {
		// In doubt: whom an operator must ask before resolving it.
		st.Doubt = &wire.TxDoubt{Coord: t.coord, CoordAddr: t.coordAddr, Members: t.members}
	}
	t.heur.status(&st)
	return st
}

// Locked lists the locked keys and their holders, sorted by key.
func (p *Participant) Locked() [][2]string {
	out := make([][2]string, 0, len(p.locks))
	for k, id := range p.locks {
		out = append(out, [2]string{k, id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func (p *Participant) add(id string, proto wire.Protocol) *ptx {
	t := &ptx{id: id, protocol: proto}
	p.txns[id] = t
	p.order = append(p.order, t)
	p.live++
	return t
}

func (p *Participant) conflict(ops []wire.Op) (key, holder string) {
	for _, op := range ops {
		if h, ok := p.locks[op.Key]; ok {
			return op.Key, h
		}
	}
	return "", ""
}

func (p *Participant) lock(t *ptx) {
	for _, k := range keysOf(t.ops) {
		p.locks[k] = t.id
	}
}

func (p *Participant) unlock(t *ptx) {
	for _, k := range keysOf(t.ops) {
		if p.locks[k] == t.id {
			delete(p.locks, k)
		}
	}
}

func (p *Participant) vote(t *ptx, yes bool, reason string) Effect {
	return Send{To: t.coord, Addr: t.coordAddr, Msg: &wire.Vote{TxID: t.id, From: p.cfg.NodeID, Yes: yes, Reason: reason, Protocol: protoTag(t.protocol)}}
}

func (p *Participant) voteTo(m *wire.Prepare, yes bool, reason string) Effect {
	return Send{To: m.Coord, Addr: m.CoordAddr, Msg: &wire.Vote{TxID: m.TxID, From: p.cfg.NodeID, Yes: yes, Reason: reason, Protocol: protoTag(m.Protocol)}}
}

// knownVote votes NO to a PREPARE for an id already decided here, saying
// which outcome it had (Vote.Known), so a coordinator that forgot the id
// can tell its client the truth (coordtooold.go).
func (p *Participant) knownVote(m *wire.Prepare, known wire.State, reason string) Effect {
	e := p.voteTo(m, false, reason)
	e.(Send).Msg.(*wire.Vote).Known = known
	return e
}

func (p *Participant) ack(t *ptx) Effect {
	return Send{To: t.coord, Addr: t.coordAddr, Msg: &wire.Ack{TxID: t.id, From: p.cfg.NodeID, State: t.state, Heuristic: t.heur.applied()}}
}

func (p *Participant) ackTo(t *ptx, to string) Effect {
	if to == t.coord {
		return p.ack(t)
	}
	return Send{To: to, Msg: &wire.Ack{TxID: t.id, From: p.cfg.NodeID, State: t.state, Heuristic: t.heur.applied()}}
}

func (p *Participant) query(t *ptx) Effect {
	return Send{To: t.coord, Addr: t.coordAddr, Msg: &wire.Query{TxID: t.id, From: p.cfg.NodeID, Protocol: protoTag(t.protocol)}}
}

func (p *Participant) timer(t *ptx) Effect {
	t.seq++
	return SetTimer{TxID: t.id, Seq: t.seq, After: p.cfg.Timeout}
}
