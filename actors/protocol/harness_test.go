package protocol

// A tiny simulated cluster for the state machines: one coordinator node
// hosting CoordTxns and N participant nodes, each with a log. Everything is
// synchronous and deterministic; there are no sockets, clocks or goroutines.
//
//   - Send effects become queued events, delivered by step/run in FIFO order
//     (or in a seeded random order). A filter can drop, duplicate or hold a
//     message; held messages are released later, in any order.
//   - Persist effects are written to the node's log buffer; a forced one
//     queues a sync event that makes the whole buffer durable and then calls
//     Logged for every forced record in it (group commit). A node with
//     manual sync only syncs when the test calls sync.
//   - SetTimer effects are recorded; tests fire them by hand.
//   - crash throws a node's memory, unsynced log tail, timers and pending
//     syncs away; restart rebuilds it from its durable log.
//   - The coordinator host answers Query the way the real host
//     (actors/coordinator.go, txn.go) does: with the decision once phase
//     two has begun (CoordTxn.Query), presumed abort for a transaction it
//     has no record of, and otherwise (voting, pre-committing, logging,
//     --delay) a QueryReply with its state: "alive, no decision for you".
//   - Participants message each other (termination protocols): Query,
//     QueryReply, a leader's PreCommit and Decision. An Ack that reaches a
//     participant (the answer to a leader's PreCommit) is dropped, as the
//     real participant host does.
//   - Links can be cut (split) to model partitions; a message on a
//     cut link is lost when it would be delivered. kill crashes a node and
//     loses every message in flight to or from it.
//
// While effects are applied the harness checks the protocol's invariants
// (persist before send, acks before Finished, no send to nowhere) and fails
// the test on a violation.

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

const (
	coordID   = "TC"
	coordAddr = "tc:7000"
	voteAfter = time.Second
	askAfter  = 2 * time.Second
)

func addrOf(id string) string { return strings.ToLower(id) + ":7001" }

// verdict is what the network filter does with a message.
type verdict int

const (
	deliver verdict = iota
	drop
	dup
	hold
)

type envelope struct {
	from, to string
	msg      wire.Message
}

func (e envelope) String() string { return fmt.Sprintf("%s→%s %s", e.from, e.to, describe(e.msg)) }

func describe(m wire.Message) string {
	switch m := m.(type) {
	case *wire.Prepare:
		return "PREPARE " + m.TxID
	case *wire.Vote:
		if m.Yes {
			return "VOTE-YES " + m.TxID
		}
		return "VOTE-NO " + m.TxID + " (" + m.Reason + ")"
	case *wire.Decision:
		if m.Commit {
			return "COMMIT " + m.TxID
		}
		return "ABORT " + m.TxID
	case *wire.Ack:
		return "ACK " + m.TxID + " " + string(m.State)
	case *wire.Query:
		return "QUERY " + m.TxID
	case *wire.QueryReply:
		return "QUERY-REPLY " + m.TxID + " " + string(m.State)
	case *wire.PreCommit:
		return "PRECOMMIT " + m.TxID
	case *wire.StartResult:
		return fmt.Sprintf("RESULT#%d %s %s", m.ReqID, m.TxID, m.Outcome)
	case *wire.Error:
		return fmt.Sprintf("ERROR#%d %s", m.ReqID, m.Code)
	case *wire.Forget:
		return "FORGET " + strings.Join(m.TxIDs, ",")
	}
	return fmt.Sprintf("%T", m)
}

func txOf(m wire.Message) string {
	switch m := m.(type) {
	case *wire.Prepare:
		return m.TxID
	case *wire.Vote:
		return m.TxID
	case *wire.Decision:
		return m.TxID
	case *wire.Ack:
		return m.TxID
	case *wire.Query:
		return m.TxID
	case *wire.QueryReply:
		return m.TxID
	case *wire.PreCommit:
		return m.TxID
	}
	return ""
}

type evKind int

const (
	evMsg evKind = iota
	evSync
)

type event struct {
	kind evKind
	env  envelope // evMsg
	node string   // evSync
	inc  int      // evSync: the node's incarnation when queued
}

// wal is one node's log: durable records and a written-but-unsynced tail.
type wal struct {
	durable []Record
	buf     []Persist
	manual  bool
}

func (w *wal) syncAll() (forced []Record) {
	for _, p := range w.buf {
		w.durable = append(w.durable, p.Rec)
		if p.Force {
			forced = append(forced, p.Rec)
		}
	}
	w.buf = nil
	return forced
}

func (w *wal) has(inBuf bool, pred func(Record) bool) bool {
	if slices.ContainsFunc(w.durable, pred) {
		return true
	}
	if inBuf {
		for _, p := range w.buf {
			if pred(p.Rec) {
				return true
			}
		}
	}
	return false
}

func recIs(kind RecKind, tx string) func(Record) bool {
	return func(r Record) bool { return r.Kind == kind && r.TxID == tx }
}

type timerEv struct {
	node string
	inc  int
	txid string
	seq  uint64
}

type node struct {
	id  string
	up  bool
	inc int
	log wal
	// participant
	p *Participant
	// coordinator
	txns  map[string]*CoordTxn
	order []string
}

type sentMsg struct {
	envelope
	step int
}

type sim struct {
	t     testing.TB
	ccfg  CoordConfig
	pcfg  ParticipantConfig
	ids   []string      // participants, in member order
	proto wire.Protocol // what begin starts (2PC unless a test says otherwise)
	nodes map[string]*node
	cut   map[[2]string]bool // links (from, to) that lose every message

	queue  []event
	held   []envelope
	timers []timerEv
	rng    *rand.Rand // nil: FIFO

	filter func(envelope) verdict

	steps     int
	sent      []sentMsg // every message a machine emitted
	delivered []sentMsg // every message a machine received
	dropped   []envelope
	replies   []Reply
	finished  map[string]int
	refused   []Refused // peers' messages a participant did not act on (peerword.go)
}

func newSim(t testing.TB, ids ...string) *sim {
	s := &sim{
		t:        t,
		ccfg:     CoordConfig{NodeID: coordID, Addr: coordAddr, Vote: voteAfter},
		pcfg:     ParticipantConfig{Timeout: askAfter},
		ids:      ids,
		proto:    wire.TwoPC,
		nodes:    map[string]*node{},
		cut:      map[[2]string]bool{},
		finished: map[string]int{},
	}
	s.nodes[coordID] = &node{id: coordID, up: true, txns: map[string]*CoordTxn{}}
	for _, id := range ids {
		n := &node{id: id, up: true}
		n.p = NewParticipant(s.partCfg(id))
		s.nodes[id] = n
	}
	return s
}

func (s *sim) partCfg(id string) ParticipantConfig {
	c := s.pcfg
	c.NodeID = id
	return c
}

func (s *sim) part(id string) *Participant {
	s.t.Helper()
	n := s.nodes[id]
	if n == nil || n.p == nil {
		s.t.Fatalf("no live participant %s", id)
	}
	return n.p
}

func (s *sim) coord(tx string) *CoordTxn {
	s.t.Helper()
	c := s.nodes[coordID].txns[tx]
	if c == nil {
		s.t.Fatalf("coordinator has no transaction %s", tx)
	}
	return c
}

// seed gives key the committed value v on participant id, through its log so
// that it survives a crash.
func (s *sim) seed(id, key, v string) {
	s.t.Helper()
	n := s.nodes[id]
	tx := fmt.Sprintf("seed-%s-%d", id, len(n.log.durable))
	recs := []Record{
		{Kind: RecPrepared, TxID: tx, Protocol: wire.TwoPC, Ops: []wire.Op{set(key, v)}, Coord: coordID},
		{Kind: RecCommit, TxID: tx, Protocol: wire.TwoPC},
	}
	for _, r := range recs {
		n.log.durable = append(n.log.durable, r)
		if err := n.p.Replay(r); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *sim) members(ids []string) []wire.Member {
	ms := make([]wire.Member, len(ids))
	for i, id := range ids {
		ms[i] = wire.Member{ID: id, Addr: addrOf(id)}
	}
	return ms
}

// begin starts a transaction over every participant (in s.ids order), with
// the given ops per member, and applies Start's effects. Call run to
// deliver them.
func (s *sim) begin(tx string, ops map[string][]wire.Op) *CoordTxn {
	return s.beginWith(tx, s.ids, ops)
}

func (s *sim) beginWith(tx string, ids []string, ops map[string][]wire.Op) *CoordTxn {
	s.t.Helper()
	c := s.nodes[coordID]
	if c.txns[tx] != nil {
		s.t.Fatalf("transaction %s exists", tx)
	}
	ct := NewCoordTxn(s.ccfg, tx, s.proto, s.members(ids), ops)
	c.txns[tx] = ct
	c.order = append(c.order, tx)
	s.apply(coordID, ct.Start())
	return ct
}

// apply carries out effects emitted by node id, checking invariants.
func (s *sim) apply(id string, effs []Effect) {
	s.t.Helper()
	n := s.nodes[id]
	for _, e := range effs {
		switch e := e.(type) {
		case Send:
			s.checkSend(id, e)
			s.post(envelope{from: id, to: e.To, msg: e.Msg})
		case Persist:
			if e.Rec.Kind == 0 {
				s.t.Errorf("%s persisted a record without a kind: %+v", id, e.Rec)
			}
			n.log.buf = append(n.log.buf, e)
			if e.Force && !n.log.manual {
				s.queue = append(s.queue, event{kind: evSync, node: id, inc: n.inc})
			}
		case SetTimer:
			if e.After <= 0 {
				s.t.Errorf("%s set a timer of %v", id, e.After)
			}
			s.timers = append(s.timers, timerEv{node: id, inc: n.inc, txid: e.TxID, seq: e.Seq})
		case Reply:
			if id != coordID {
				s.t.Errorf("participant %s emitted a Reply", id)
			}
			s.checkDecisionDurable(e.TxID, e.Outcome == wire.StateCommitted, "Reply")
			if !e.Outcome.Final() {
				s.t.Errorf("Reply for %s with outcome %q", e.TxID, e.Outcome)
			}
			s.replies = append(s.replies, e)
		case Finished:
			s.checkFinished(e.TxID)
			s.finished[e.TxID]++
		case Refused:
			if id == coordID {
				s.t.Errorf("the coordinator emitted %+v", e)
			}
			s.refused = append(s.refused, e)
		default:
			s.t.Errorf("unknown effect %T", e)
		}
	}
}

func (s *sim) checkSend(from string, e Send) {
	s.t.Helper()
	if e.To == "" {
		s.t.Errorf("%s sent %s to nobody", from, describe(e.Msg))
		return
	}
	if s.nodes[e.To] == nil {
		s.t.Errorf("%s sent %s to unknown node %q", from, describe(e.Msg), e.To)
	}
	if e.To == from {
		s.t.Errorf("%s sent %s to itself", from, describe(e.Msg))
	}
	log := &s.nodes[from].log
	switch m := e.Msg.(type) {
	case *wire.Vote:
		if m.From != from {
			s.t.Errorf("%s sent a vote signed %q", from, m.From)
		}
		if m.Yes {
			if !log.has(false, recIs(RecPrepared, m.TxID)) {
				s.t.Errorf("%s voted YES on %s before PREPARED was durable", from, m.TxID)
			}
			// A READY participant re-answers a duplicate PREPARE with YES
			// while its outcome is still being written; once the outcome
			// is durable it must never vote YES again.
			if log.has(false, recIs(RecAbort, m.TxID)) || log.has(false, recIs(RecCommit, m.TxID)) {
				s.t.Errorf("%s voted YES on %s after its outcome was durable", from, m.TxID)
			}
		} else if m.Reason == "" {
			s.t.Errorf("%s voted NO on %s without a reason", from, m.TxID)
		}
	case *wire.Ack:
		if m.From != from {
			s.t.Errorf("%s sent an ack signed %q", from, m.From)
		}
		switch m.State {
		case wire.StateCommitted:
			if !log.has(false, recIs(RecCommit, m.TxID)) {
				s.t.Errorf("%s acked COMMIT of %s before COMMIT was durable", from, m.TxID)
			}
		case wire.StateAborted:
			if !log.has(true, recIs(RecAbort, m.TxID)) {
				s.t.Errorf("%s acked ABORT of %s without logging ABORT", from, m.TxID)
			}
		case wire.StatePrecommitted:
			if !log.has(false, recIs(RecPreCommit, m.TxID)) {
				s.t.Errorf("%s acked PRE-COMMIT of %s before PRECOMMIT was durable", from, m.TxID)
			}
		}
	case *wire.Decision:
		if from != coordID {
			// A 3PC termination leader announces its outcome once it is
			// durable in its own log.
			if s.protoOf(m.TxID) != wire.ThreePC {
				s.t.Errorf("participant %s sent a decision for 2PC %s", from, m.TxID)
			}
			kind := RecAbort
			if m.Commit {
				kind = RecCommit
			}
			if !log.has(false, recIs(kind, m.TxID)) {
				s.t.Errorf("%s sent %s before its own %v was durable", from, describe(m), kind)
			}
			if log.has(true, recIs(RecCommit, m.TxID)) && log.has(true, recIs(RecAbort, m.TxID)) {
				s.t.Errorf("%s logged both COMMIT and ABORT of %s", from, m.TxID)
			}
			return
		}
		s.checkDecisionDurable(m.TxID, m.Commit, "Decision to "+e.To)
	case *wire.Prepare:
		if from != coordID {
			s.t.Errorf("participant %s sent PREPARE", from)
		}
	case *wire.PreCommit:
		if s.protoOf(m.TxID) != wire.ThreePC {
			s.t.Errorf("%s sent PRE-COMMIT for 2PC %s", from, m.TxID)
		}
		// The coordinator must durably know the transaction first: a
		// restart then asks the participants instead of presuming abort.
		if from == coordID && !log.has(false, recIs(RecBegin, m.TxID)) {
			s.t.Errorf("coordinator sent PRE-COMMIT of %s before BEGIN was durable", m.TxID)
		}
		if from == coordID && log.has(true, func(r Record) bool { return r.Kind == RecDecision && r.TxID == m.TxID }) {
			s.t.Errorf("coordinator sent PRE-COMMIT of %s after deciding", m.TxID)
		}
	case *wire.Query:
		if m.From != from {
			s.t.Errorf("%s sent a query signed %q", from, m.From)
		}
	case *wire.QueryReply:
		if m.From != from {
			s.t.Errorf("%s sent a query reply signed %q", from, m.From)
		}
		if from == coordID {
			return
		}
		// A participant reports only what its log makes durable.
		prep := log.has(false, recIs(RecPrepared, m.TxID))
		pre := log.has(false, recIs(RecPreCommit, m.TxID))
		com := log.has(false, recIs(RecCommit, m.TxID))
		abo := log.has(false, recIs(RecAbort, m.TxID))
		ok := false
		switch m.State {
		case wire.StateReady:
			ok = prep && !pre && !com && !abo
		case wire.StatePrecommitted:
			ok = pre && !com && !abo
		case wire.StateCommitted:
			ok = com
		case wire.StateAborted:
			ok = log.has(true, recIs(RecAbort, m.TxID)) && !com // lazy after a NO vote
		}
		if !ok {
			s.t.Errorf("%s answered %s, which its log does not say", from, describe(m))
		}
	}
}

// commitCertain3PC: a 3PC client may hear COMMITTED before the decision is
// durable once no path leads to abort: the coordinator durably knows the
// transaction (BEGIN) and every member is durably pre-committed, or one has
// committed.
func (s *sim) commitCertain3PC(tx string) bool {
	var members []wire.Member
	for _, r := range s.nodes[coordID].log.durable {
		if r.Kind == RecBegin && r.TxID == tx && r.Protocol == wire.ThreePC {
			members = r.Members
		}
	}
	if len(members) == 0 {
		return false
	}
	all := true
	for _, m := range members {
		l := &s.nodes[m.ID].log
		if l.has(false, recIs(RecCommit, tx)) {
			return true
		}
		if !l.has(false, recIs(RecPreCommit, tx)) {
			all = false
		}
	}
	return all
}

// protoOf finds tx's protocol in any node's log or in the coordinator.
func (s *sim) protoOf(tx string) wire.Protocol {
	for _, n := range s.nodes {
		for _, r := range n.log.durable {
			if r.TxID == tx && r.Protocol != "" {
				return r.Protocol
			}
		}
		for _, p := range n.log.buf {
			if p.Rec.TxID == tx && p.Rec.Protocol != "" {
				return p.Rec.Protocol
			}
		}
		if ct := n.txns[tx]; ct != nil {
			return ct.protocol
		}
	}
	return s.proto
}

// checkDecisionDurable: COMMIT may only leave the coordinator once a COMMIT
// decision is durable; ABORT only if no COMMIT decision is (presumed abort
// needs no record).
func (s *sim) checkDecisionDurable(tx string, commit bool, what string) {
	s.t.Helper()
	log := &s.nodes[coordID].log
	isCommit := func(r Record) bool { return r.Kind == RecDecision && r.TxID == tx && r.Commit }
	isAbort := func(r Record) bool { return r.Kind == RecDecision && r.TxID == tx && !r.Commit }
	if commit && !log.has(false, isCommit) && !(what == "Reply" && s.commitCertain3PC(tx)) {
		s.t.Errorf("%s: COMMIT of %s before the decision was durable", what, tx)
	}
	if !commit && log.has(true, isCommit) {
		s.t.Errorf("%s: ABORT of %s, which was decided COMMIT", what, tx)
	}
	if what == "Reply" && !commit && !log.has(false, isAbort) {
		s.t.Errorf("Reply: ABORT of %s before the decision was durable", tx)
	}
}

// checkFinished: every member whose YES vote reached the coordinator (every
// member, for a recovered transaction) must have acked the decision.
func (s *sim) checkFinished(tx string) {
	s.t.Helper()
	ct := s.coord(tx)
	if !s.nodes[coordID].log.has(true, recIs(RecEnd, tx)) {
		s.t.Errorf("Finished %s without END", tx)
	}
	acked := map[string]bool{}
	votedYes := map[string]bool{}
	for _, d := range s.delivered {
		if d.to != coordID || txOf(d.msg) != tx {
			continue
		}
		switch m := d.msg.(type) {
		case *wire.Ack:
			if m.State.Final() {
				acked[m.From] = true
			}
		case *wire.Vote:
			if m.Yes {
				votedYes[m.From] = true
			}
		}
	}
	for _, m := range ct.members {
		if (votedYes[m.ID] || ct.recovered || ct.commit) && !acked[m.ID] {
			s.t.Errorf("Finished %s without an ack from %s", tx, m.ID)
		}
	}
}

func (s *sim) post(e envelope) {
	s.sent = append(s.sent, sentMsg{e, s.steps})
	v := deliver
	if s.filter != nil {
		v = s.filter(e)
	}
	switch v {
	case deliver:
		s.queue = append(s.queue, event{kind: evMsg, env: e})
	case dup:
		s.queue = append(s.queue, event{kind: evMsg, env: e}, event{kind: evMsg, env: e})
	case drop:
		s.dropped = append(s.dropped, e)
	case hold:
		s.held = append(s.held, e)
	}
}

// release puts held messages matching pred back on the network, in the
// order given by the slice (or reversed).
func (s *sim) release(pred func(envelope) bool, reversed bool) int {
	var out, keep []envelope
	for _, e := range s.held {
		if pred == nil || pred(e) {
			out = append(out, e)
		} else {
			keep = append(keep, e)
		}
	}
	s.held = keep
	if reversed {
		slices.Reverse(out)
	}
	for _, e := range out {
		s.queue = append(s.queue, event{kind: evMsg, env: e})
	}
	return len(out)
}

// step carries out one queued event; false when there is none.
func (s *sim) step() bool {
	s.t.Helper()
	if len(s.queue) == 0 {
		return false
	}
	i := 0
	if s.rng != nil {
		i = s.rng.Intn(len(s.queue))
	}
	ev := s.queue[i]
	s.queue = slices.Delete(s.queue, i, i+1)
	s.steps++
	switch ev.kind {
	case evSync:
		s.syncNode(ev.node, ev.inc)
	case evMsg:
		s.deliverMsg(ev.env)
	}
	return true
}

// run delivers until the network is quiet.
func (s *sim) run() {
	s.t.Helper()
	for i := 0; s.step(); i++ {
		if i > 100000 {
			s.t.Fatal("network never went quiet")
		}
	}
}

// sync makes node id's log durable now (for nodes with manual sync).
func (s *sim) sync(id string) {
	s.t.Helper()
	s.syncNode(id, s.nodes[id].inc)
}

func (s *sim) syncNode(id string, inc int) {
	s.t.Helper()
	n := s.nodes[id]
	if !n.up || n.inc != inc {
		return // the node crashed since the write
	}
	for _, rec := range n.log.syncAll() {
		if n.p != nil {
			s.apply(id, n.p.Logged(rec))
		} else if ct := n.txns[rec.TxID]; ct != nil {
			s.apply(id, ct.Logged(rec))
		}
	}
}

func (s *sim) deliverMsg(e envelope) {
	s.t.Helper()
	n := s.nodes[e.to]
	if n == nil || !n.up || s.cut[[2]string{e.from, e.to}] {
		s.dropped = append(s.dropped, e)
		return
	}
	s.delivered = append(s.delivered, sentMsg{e, s.steps})
	if n.p != nil {
		p := n.p
		switch m := e.msg.(type) {
		case *wire.Prepare:
			s.apply(e.to, p.Prepare(m))
		case *wire.Decision:
			if e.from == coordID {
				s.apply(e.to, p.Decision(e.from, m))
			} else {
				s.apply(e.to, p.PeerDecision(e.from, m))
			}
		case *wire.Query:
			s.apply(e.to, p.Query(m))
		case *wire.QueryReply:
			s.apply(e.to, p.QueryReply(m))
		case *wire.PreCommit:
			if e.from == coordID {
				s.apply(e.to, p.PreCommit(e.from, m))
			} else {
				s.apply(e.to, p.PeerPreCommit(e.from, m))
			}
		case *wire.Ack:
			// A peer's answer to a termination leader's PRE-COMMIT: the
			// participant host has no use for it (the leader learns the
			// state from its next round of queries).
			if e.from == coordID {
				s.t.Errorf("participant %s got %s from the coordinator", e.to, describe(e.msg))
			}
		default:
			s.t.Errorf("participant %s got %s", e.to, describe(e.msg))
		}
		return
	}
	ct := n.txns[txOf(e.msg)]
	switch m := e.msg.(type) {
	case *wire.Vote:
		if ct != nil {
			s.apply(e.to, ct.Vote(m))
		}
	case *wire.Ack:
		if ct != nil {
			s.apply(e.to, ct.Ack(m))
		}
	case *wire.QueryReply:
		if ct != nil {
			s.apply(e.to, ct.QueryReply(m))
		}
	case *wire.Query:
		s.answerQuery(ct, m)
	default:
		s.t.Errorf("coordinator got %s", describe(e.msg))
	}
}

// answerQuery is the coordinator host's part (actors/coordinator.go and
// txn.go): a running transaction answers with the decision once phase two
// has begun (CoordTxn.Query); before that (voting, logging, --delay) the
// host answers a QueryReply with the transaction's state: alive, and no
// decision to be had. A transaction it has no record of is presumed
// aborted.
func (s *sim) answerQuery(ct *CoordTxn, q *wire.Query) {
	s.t.Helper()
	d := &wire.Decision{TxID: q.TxID, Reason: "presumed abort"}
	switch {
	case ct != nil:
		if eff := ct.Query(q.From); len(eff) > 0 {
			s.apply(coordID, eff)
			return
		}
		st := ct.Status()
		decided, _, _ := ct.Decided()
		if st.State != wire.StateInit && st.State != wire.StatePrecommitted && !decided {
			s.t.Errorf("undecided coordinator reports %q for %s", st.State, q.TxID)
		}
		s.apply(coordID, []Effect{Send{To: q.From, Msg: &wire.QueryReply{TxID: q.TxID, From: coordID, State: st.State}}})
		return
	default:
		for _, r := range s.nodes[coordID].log.durable {
			if r.Kind == RecDecision && r.TxID == q.TxID {
				d.Commit, d.Reason = r.Commit, r.Reason
			}
		}
	}
	s.apply(coordID, []Effect{Send{To: q.From, Msg: d}})
}

// timersFor lists node id's live timers for tx (stale ones included: the
// machine must ignore those).
func (s *sim) timersFor(id, tx string) []timerEv {
	var out []timerEv
	for _, tm := range s.timers {
		if tm.node == id && tm.txid == tx && tm.inc == s.nodes[id].inc {
			out = append(out, tm)
		}
	}
	return out
}

// fireTimer fires one timer (and forgets it).
func (s *sim) fireTimer(tm timerEv) {
	s.t.Helper()
	s.timers = slices.DeleteFunc(s.timers, func(x timerEv) bool { return x == tm })
	n := s.nodes[tm.node]
	if !n.up || n.inc != tm.inc {
		return
	}
	if n.p != nil {
		s.apply(tm.node, n.p.Timer(tm.txid, tm.seq))
	} else if ct := n.txns[tm.txid]; ct != nil {
		s.apply(tm.node, ct.Timer(tm.seq))
	}
}

// fire fires every timer node id has set for tx, oldest first; it returns
// how many it fired.
func (s *sim) fire(id, tx string) int {
	s.t.Helper()
	tms := s.timersFor(id, tx)
	for _, tm := range tms {
		s.fireTimer(tm)
	}
	return len(tms)
}

// crash loses node id's memory, unsynced log tail, timers and pending syncs.
func (s *sim) crash(id string) {
	n := s.nodes[id]
	n.up = false
	n.inc++
	n.log.buf = nil
	n.p = nil
	if id == coordID {
		n.txns, n.order = nil, nil
	}
}

// syncThenCrash makes node id's written records durable and crashes it
// before the host can call Logged: the window between fsync and send.
func (s *sim) syncThenCrash(id string) {
	n := s.nodes[id]
	for _, p := range n.log.buf {
		n.log.durable = append(n.log.durable, p.Rec)
	}
	n.log.buf = nil
	s.crash(id)
}

// kill crashes node id and loses every message in flight to or from it
// (queued or held): the coordinator "dies".
func (s *sim) kill(id string) {
	s.crash(id)
	s.queue = slices.DeleteFunc(s.queue, func(ev event) bool {
		return ev.kind == evMsg && (ev.env.from == id || ev.env.to == id)
	})
	s.held = slices.DeleteFunc(s.held, func(e envelope) bool { return e.from == id || e.to == id })
}

// split partitions the network: nodes in different groups cannot reach each
// other; a node in no group reaches nobody.
func (s *sim) split(groups ...[]string) {
	group := map[string]int{}
	for i, g := range groups {
		for _, id := range g {
			group[id] = i + 1
		}
	}
	for a := range s.nodes {
		for b := range s.nodes {
			if a != b && (group[a] == 0 || group[a] != group[b]) {
				s.cut[[2]string{a, b}] = true
			}
		}
	}
}

// heal restores every link.
func (s *sim) heal() { clear(s.cut) }

// restart rebuilds node id from its durable log and runs its recovery.
func (s *sim) restart(id string) {
	s.t.Helper()
	n := s.nodes[id]
	n.up = true
	if id != coordID {
		n.p = NewParticipant(s.partCfg(id))
		for _, r := range n.log.durable {
			if err := n.p.Replay(r); err != nil {
				s.t.Fatalf("%s replay: %v", id, err)
			}
		}
		s.apply(id, n.p.Recovered())
		return
	}
	// The coordinator host's recovery: every transaction with no END is
	// resumed, with its decision if one is durable.
	type info struct {
		members         []wire.Member
		proto           wire.Protocol
		decided, commit bool
		reason          string
		ended           bool
	}
	txs := map[string]*info{}
	var order []string
	for _, r := range n.log.durable {
		in := txs[r.TxID]
		if in == nil {
			in = &info{}
			txs[r.TxID] = in
			order = append(order, r.TxID)
		}
		switch r.Kind {
		case RecBegin, RecPreCommit:
			in.members, in.proto = r.Members, r.Protocol
		case RecDecision:
			in.members, in.proto = r.Members, r.Protocol
			in.decided, in.commit, in.reason = true, r.Commit, r.Reason
		case RecEnd:
			in.ended = true
		}
	}
	n.txns = map[string]*CoordTxn{}
	for _, tx := range order {
		in := txs[tx]
		if in.ended {
			continue
		}
		ct := RecoverCoordTxn(s.ccfg, tx, in.proto, in.members, in.decided, in.commit, in.reason)
		n.txns[tx] = ct
		n.order = append(n.order, tx)
		s.apply(coordID, ct.Start())
	}
}

// --- queries on the simulated cluster ---

func (s *sim) state(id, tx string) wire.State {
	s.t.Helper()
	if t := s.part(id).txns[tx]; t != nil {
		return t.state
	}
	return wire.StateUnknown
}

func (s *sim) store(id string) map[string]string {
	st, _ := s.part(id).Status()
	return st
}

// sentOf lists the messages of type typ for tx that from sent to to (""
// matches any node).
func (s *sim) sentOf(from, to string, typ wire.Type, tx string) []wire.Message {
	var out []wire.Message
	for _, m := range s.sent {
		if (from == "" || m.from == from) && (to == "" || m.to == to) && m.msg.Type() == typ && txOf(m.msg) == tx {
			out = append(out, m.msg)
		}
	}
	return out
}

func (s *sim) votesYes(from, tx string) int {
	n := 0
	for _, m := range s.sentOf(from, coordID, wire.TypeVote, tx) {
		if m.(*wire.Vote).Yes {
			n++
		}
	}
	return n
}

func (s *sim) replyFor(tx string) []Reply {
	var out []Reply
	for _, r := range s.replies {
		if r.TxID == tx {
			out = append(out, r)
		}
	}
	return out
}

func (s *sim) records(id string, kind RecKind, tx string) int {
	n := 0
	for _, r := range s.nodes[id].log.durable {
		if r.Kind == kind && r.TxID == tx {
			n++
		}
	}
	return n
}

// checkAtomic: no participant committed tx while another aborted it, and a
// commit anywhere means the coordinator decided COMMIT.
func (s *sim) checkAtomic(tx string) {
	s.t.Helper()
	var committed, aborted []string
	for _, id := range s.ids {
		n := s.nodes[id]
		c := n.log.has(false, recIs(RecCommit, tx))
		a := n.log.has(false, recIs(RecAbort, tx))
		if n.p != nil {
			if t := n.p.txns[tx]; t != nil {
				c = c || t.state == wire.StateCommitted
				a = a || t.state == wire.StateAborted
			}
		}
		if c {
			committed = append(committed, id)
		}
		if a {
			aborted = append(aborted, id)
		}
	}
	if len(committed) > 0 && len(aborted) > 0 {
		s.t.Errorf("%s is committed on %v but aborted on %v", tx, committed, aborted)
	}
	clog := &s.nodes[coordID].log
	commitDecided := clog.has(false, func(r Record) bool { return r.Kind == RecDecision && r.TxID == tx && r.Commit })
	abortDecided := clog.has(false, func(r Record) bool { return r.Kind == RecDecision && r.TxID == tx && !r.Commit })
	if commitDecided && abortDecided {
		s.t.Errorf("the coordinator logged both COMMIT and ABORT for %s", tx)
	}
	if s.protoOf(tx) == wire.ThreePC {
		// The participants may decide without the coordinator, but a
		// commit anywhere means everyone voted YES and the coordinator
		// durably knew the transaction (BEGIN) before PRE-COMMIT went out;
		// and the coordinator's decision, if it made one, agrees with theirs.
		if len(committed) > 0 && !clog.has(false, recIs(RecBegin, tx)) {
			s.t.Errorf("%s committed on %v without a durable BEGIN on the coordinator", tx, committed)
		}
		if len(committed) > 0 && abortDecided {
			s.t.Errorf("%s committed on %v but the coordinator decided ABORT", tx, committed)
		}
		if len(aborted) > 0 && commitDecided {
			s.t.Errorf("%s aborted on %v but the coordinator decided COMMIT", tx, aborted)
		}
		return
	}
	if len(committed) > 0 && !commitDecided {
		s.t.Errorf("%s committed on %v without a durable COMMIT decision", tx, committed)
	}
}

// noLocks: participant id holds no lock.
func (s *sim) noLocks(id string) {
	s.t.Helper()
	if l := s.part(id).Locked(); len(l) != 0 {
		s.t.Errorf("%s still holds locks %v", id, l)
	}
}

func (s *sim) trace() string {
	var b strings.Builder
	for _, m := range s.sent {
		fmt.Fprintf(&b, "  #%d %s\n", m.step, m.envelope)
	}
	return b.String()
}

// --- op constructors and effect helpers for the tests ---

func set(k, v string) wire.Op       { return wire.Op{Kind: wire.OpSet, Key: k, Value: v} }
func add(k string, d int64) wire.Op { return wire.Op{Kind: wire.OpAdd, Key: k, Delta: d} }
func del(k string) wire.Op          { return wire.Op{Kind: wire.OpDel, Key: k} }
func ops(o ...wire.Op) []wire.Op    { return o }
func opsFor(ids []string, o ...wire.Op) map[string][]wire.Op {
	m := map[string][]wire.Op{}
	for _, id := range ids {
		m[id] = o
	}
	return m
}

func sends(effs []Effect) []Send {
	var out []Send
	for _, e := range effs {
		if s, ok := e.(Send); ok {
			out = append(out, s)
		}
	}
	return out
}

func persists(effs []Effect) []Persist {
	var out []Persist
	for _, e := range effs {
		if p, ok := e.(Persist); ok {
			out = append(out, p)
		}
	}
	return out
}

func timersOf(effs []Effect) []SetTimer {
	var out []SetTimer
	for _, e := range effs {
		if t, ok := e.(SetTimer); ok {
			out = append(out, t)
		}
	}
	return out
}

func has[T Effect](effs []Effect) bool {
	for _, e := range effs {
		if _, ok := e.(T); ok {
			return true
		}
	}
	return false
}

// kinds summarises effects as short strings, for exact comparisons.
func kinds(effs []Effect) []string {
	out := make([]string, 0, len(effs))
	for _, e := range effs {
		switch e := e.(type) {
		case Send:
			out = append(out, "send "+e.To+" "+describe(e.Msg))
		case Persist:
			f := "lazy"
			if e.Force {
				f = "forced"
			}
			out = append(out, fmt.Sprintf("persist %s %s %s", f, e.Rec.Kind, e.Rec.TxID))
		case SetTimer:
			switch e.Kind {
			case TimerResend:
				out = append(out, fmt.Sprintf("resend-timer %s #%d", e.TxID, e.Seq))
			case TimerForget:
				out = append(out, "forget-timer")
			default:
				out = append(out, fmt.Sprintf("timer %s #%d", e.TxID, e.Seq))
			}
		case Answer:
			out = append(out, fmt.Sprintf("answer %s %s", e.Peer, describe(e.Msg)))
		case Contradiction:
			out = append(out, fmt.Sprintf("contradiction %s %s %s", e.TxID, e.Member, e.State))
		case Reply:
			out = append(out, fmt.Sprintf("reply %s %s", e.TxID, e.Outcome))
		case Finished:
			out = append(out, "finished "+e.TxID)
		case Refused:
			out = append(out, fmt.Sprintf("refused %s %s %s", e.From, e.Type, e.TxID))
		default:
			out = append(out, fmt.Sprintf("%T", e))
		}
	}
	return out
}
