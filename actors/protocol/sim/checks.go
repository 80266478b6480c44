package sim

import (
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// checkSend checks a message node from is about to send to: what it says
// must be durable in from's log first (persist before send).
func (s *Sim) checkSend(from, to string, msg wire.Message) {
	what := protocol.Describe(msg)
	switch {
	case to == "":
		s.t.Errorf("%s sent %s to nobody", from, what)
		return
	case s.nodes[to] == nil:
		s.t.Errorf("%s sent %s to unknown node %q", from, what, to)
	case to == from:
		s.t.Errorf("%s sent %s to itself", from, what)
	}
	log := &s.nodes[from].log
	switch m := msg.(type) {
	case *wire.Vote:
		s.checkVote(from, log, m)
	case *wire.Ack:
		s.checkAck(from, log, m)
	case *wire.Decision:
		if from != CoordID {
			s.checkLeaderDecision(from, log, m)
			return
		}
		s.checkDecisionDurable(m.TxID, m.Commit, "Decision to "+to)
	case *wire.Prepare:
		if from != CoordID {
			s.t.Errorf("participant %s sent PREPARE", from)
		}
	case *wire.PreCommit:
		if s.protoOf(m.TxID) != wire.ThreePC {
			s.t.Errorf("%s sent PRE-COMMIT for 2PC %s", from, m.TxID)
		}
		// The coordinator must durably know the transaction first: a
		// restart then asks the participants instead of presuming abort.
		if from == CoordID && !log.has(false, recIs(protocol.RecBegin, m.TxID)) {
			s.t.Errorf("coordinator sent PRE-COMMIT of %s before BEGIN was durable", m.TxID)
		}
		if from == CoordID && log.has(true, recIs(protocol.RecDecision, m.TxID)) {
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
		if from != CoordID {
			s.checkQueryReply(from, log, m)
		}
	}
}

func (s *Sim) checkVote(from string, log *wal, m *wire.Vote) {
	if m.From != from {
		s.t.Errorf("%s sent a vote signed %q", from, m.From)
	}
	if !m.Yes {
		if m.Reason == "" {
			s.t.Errorf("%s voted NO on %s without a reason", from, m.TxID)
		}
		// PARALLEL: a NO is evidence of the outcome, so it is durable
		// (a NO naming an earlier outcome, Known, repeats that one).
		if m.Known == "" && s.protoOf(m.TxID) == wire.Parallel && !log.has(false, recIs(protocol.RecAbort, m.TxID)) {
			s.t.Errorf("%s voted NO on PARALLEL %s before its ABORT was durable", from, m.TxID)
		}
		return
	}
	if !log.has(false, recIs(protocol.RecPrepared, m.TxID)) {
		s.t.Errorf("%s voted YES on %s before PREPARED was durable", from, m.TxID)
	}
	// A READY participant re-answers a duplicate PREPARE with YES while
	// its outcome is still being written; once the outcome is durable it
	// must never vote YES again.
	if log.has(false, recIs(protocol.RecAbort, m.TxID)) || log.has(false, recIs(protocol.RecCommit, m.TxID)) {
		s.t.Errorf("%s voted YES on %s after its outcome was durable", from, m.TxID)
	}
}

func (s *Sim) checkAck(from string, log *wal, m *wire.Ack) {
	if m.From != from {
		s.t.Errorf("%s sent an ack signed %q", from, m.From)
	}
	switch m.State {
	case wire.StateCommitted:
		if !log.has(false, recIs(protocol.RecCommit, m.TxID)) {
			s.t.Errorf("%s acked COMMIT of %s before COMMIT was durable", from, m.TxID)
		}
	case wire.StateAborted:
		if !log.has(true, recIs(protocol.RecAbort, m.TxID)) {
			s.t.Errorf("%s acked ABORT of %s without logging ABORT", from, m.TxID)
		}
	case wire.StatePrecommitted:
		if !log.has(false, recIs(protocol.RecPreCommit, m.TxID)) {
			s.t.Errorf("%s acked PRE-COMMIT of %s before PRECOMMIT was durable", from, m.TxID)
		}
	}
}

// checkLeaderDecision: a 3PC termination leader announces its outcome once
// it is durable in its own log.
func (s *Sim) checkLeaderDecision(from string, log *wal, m *wire.Decision) {
	if p := s.protoOf(m.TxID); p != wire.ThreePC && p != wire.Parallel {
		s.t.Errorf("participant %s sent a decision for 2PC %s", from, m.TxID)
	}
	kind := protocol.RecAbort
	if m.Commit {
		kind = protocol.RecCommit
	}
	if !log.has(false, recIs(kind, m.TxID)) {
		s.t.Errorf("%s sent %s before its own %v was durable", from, protocol.Describe(m), kind)
	}
	if log.has(true, recIs(protocol.RecCommit, m.TxID)) && log.has(true, recIs(protocol.RecAbort, m.TxID)) {
		s.t.Errorf("%s logged both COMMIT and ABORT of %s", from, m.TxID)
	}
}

// checkQueryReply: a participant reports only what its log makes durable.
func (s *Sim) checkQueryReply(from string, log *wal, m *wire.QueryReply) {
	prep := log.has(false, recIs(protocol.RecPrepared, m.TxID))
	pre := log.has(false, recIs(protocol.RecPreCommit, m.TxID))
	com := log.has(false, recIs(protocol.RecCommit, m.TxID))
	abo := log.has(false, recIs(protocol.RecAbort, m.TxID))
	ok := false
	switch m.State {
	case wire.StateReady:
		ok = prep && !pre && !com && !abo
	case wire.StatePrecommitted:
		ok = pre && !com && !abo
	case wire.StateCommitted:
		ok = com
	case wire.StateAborted:
		ok = log.has(true, recIs(protocol.RecAbort, m.TxID)) && !com // lazy after a NO vote
	}
	if !ok {
		s.t.Errorf("%s answered %s, which its log does not say", from, protocol.Describe(m))
	}
}

// commitCertain3PC: a 3PC client may hear COMMITTED before the decision is
// durable once no path leads to abort: the coordinator durably knows the
// transaction (BEGIN) and every member is durably pre-committed, or one has
// committed.
func (s *Sim) commitCertain3PC(tx string) bool {
	var members []wire.Member
	for _, r := range s.nodes[CoordID].log.durable {
		if r.Kind == protocol.RecBegin && r.TxID == tx && r.Protocol == wire.ThreePC {
			members = r.Members
		}
	}
	if len(members) == 0 {
		return false
	}
	all := true
	for _, m := range members {
		l := &s.nodes[m.ID].log
		if l.has(false, recIs(protocol.RecCommit, tx)) {
			return true
		}
		if !l.has(false, recIs(protocol.RecPreCommit, tx)) {
			all = false
		}
	}
	return all
}

// protoOf finds tx's protocol in any node's log or in the coordinator.
func (s *Sim) protoOf(tx string) wire.Protocol {
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
	}
	if c := s.nodes[CoordID].c; c != nil && c.Txn(tx) != nil {
		return c.Txn(tx).Status().Protocol
	}
	return s.Proto
}

func decisionIs(tx string, commit bool) func(protocol.Record) bool {
	return func(r protocol.Record) bool {
		return r.Kind == protocol.RecDecision && r.TxID == tx && r.Commit == commit
	}
}

// checkDecisionDurable: COMMIT may only leave the coordinator once a COMMIT
// decision is durable; ABORT only if no COMMIT decision is (presumed abort
// needs no record); a client hears ABORTED only once it is durable.
func (s *Sim) checkDecisionDurable(tx string, commit bool, what string) {
	if s.protoOf(tx) == wire.Parallel {
		s.checkParallelFixed(tx, commit, what)
		return
	}
	log := &s.nodes[CoordID].log
	if commit && !log.has(false, decisionIs(tx, true)) && !(what == "Reply" && s.commitCertain3PC(tx)) {
		s.t.Errorf("%s: COMMIT of %s before the decision was durable", what, tx)
	}
	if !commit && log.has(true, decisionIs(tx, true)) {
		s.t.Errorf("%s: ABORT of %s, which was decided COMMIT", what, tx)
	}
	if what == "Reply" && !commit && !log.has(false, decisionIs(tx, false)) {
		s.t.Errorf("Reply: ABORT of %s before the decision was durable", tx)
	}
}

// checkFinished: every member whose YES vote reached the coordinator's
// current run of tx (every member, for a recovered or committed transaction)
// must have acked the decision to it, and END must be logged.
func (s *Sim) checkFinished(tx string) {
	ct := s.Coord(tx)
	if !s.nodes[CoordID].log.has(true, recIs(protocol.RecEnd, tx)) {
		s.t.Errorf("Finished %s without END", tx)
	}
	acked := map[string]bool{}
	votedYes := map[string]bool{}
	for _, d := range s.delivered[max(s.coordFrom, s.begun[tx]):] {
		if d.To != CoordID || wire.TxIDOf(d.Msg) != tx {
			continue
		}
		switch m := d.Msg.(type) {
		case *wire.Ack:
			if m.State.Final() {
				acked[m.From] = true
			}
		case *wire.Vote:
			if m.Yes {
				votedYes[m.From] = true
			}
		case *wire.QueryReply:
			if m.State.Final() {
				acked[m.From] = true // it said it was final: it needs nothing more
			}
		}
	}
	commit := ct.Outcome() == wire.StateCommitted
	for _, m := range ct.Members() {
		if (votedYes[m.ID] || s.recovered[tx] || commit) && !acked[m.ID] {
			s.t.Errorf("Finished %s without an ack from %s", tx, m.ID)
		}
	}
}

// CheckAtomic fails the test if tx is committed on one participant and
// aborted on another, if the coordinator logged both outcomes, or if a
// participant committed what the coordinator did not decide to commit.
func (s *Sim) CheckAtomic(tx string) {
	s.t.Helper()
	var committed, aborted []string
	for _, id := range s.ids {
		n := s.nodes[id]
		c := n.log.has(false, recIs(protocol.RecCommit, tx))
		a := n.log.has(false, recIs(protocol.RecAbort, tx))
		if n.p != nil {
			st := n.p.State(tx)
			c = c || st == wire.StateCommitted
			a = a || st == wire.StateAborted
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
	clog := &s.nodes[CoordID].log
	commitDecided := clog.has(false, decisionIs(tx, true))
	abortDecided := clog.has(false, decisionIs(tx, false))
	if commitDecided && abortDecided {
		s.t.Errorf("the coordinator logged both COMMIT and ABORT for %s", tx)
	}
	if s.protoOf(tx) == wire.Parallel {
		if len(committed) > 0 {
			s.checkParallelFixed(tx, true, "COMMIT on "+committed[0])
		}
		if len(aborted) > 0 && commitDecided {
			s.t.Errorf("%s aborted on %v but the coordinator decided COMMIT", tx, aborted)
		}
		if len(committed) > 0 && abortDecided {
			s.t.Errorf("%s committed on %v but the coordinator decided ABORT", tx, committed)
		}
		return
	}
	if s.protoOf(tx) != wire.ThreePC {
		if len(committed) > 0 && !commitDecided {
			s.t.Errorf("%s committed on %v without a durable COMMIT decision", tx, committed)
		}
		return
	}
	// The participants may decide without the coordinator, but a commit
	// anywhere means everyone voted YES and the coordinator durably knew
	// the transaction (BEGIN) before PRE-COMMIT went out; and the
	// coordinator's decision, if it made one, agrees with theirs.
	if len(committed) > 0 && !clog.has(false, recIs(protocol.RecBegin, tx)) {
		s.t.Errorf("%s committed on %v without a durable BEGIN on the coordinator", tx, committed)
	}
	if len(committed) > 0 && abortDecided {
		s.t.Errorf("%s committed on %v but the coordinator decided ABORT", tx, committed)
	}
	if len(aborted) > 0 && commitDecided {
		s.t.Errorf("%s aborted on %v but the coordinator decided COMMIT", tx, aborted)
	}
}

// told is what clients were told of tx (a Reply or an answer); being told
// both outcomes is an error.
func (s *Sim) told(tx string) map[wire.State]bool {
	told := map[wire.State]bool{}
	for _, r := range s.replies {
		if r.TxID == tx && !r.TooOld {
			told[r.Outcome] = true
		}
	}
	for _, m := range s.answers {
		if r, ok := m.(*wire.StartResult); ok && r.TxID == tx {
			told[r.Outcome] = true
		}
	}
	if told[wire.StateCommitted] && told[wire.StateAborted] {
		s.t.Errorf("clients were told both COMMITTED and ABORTED for %s", tx)
	}
	return told
}

// CheckTold fails the test if a client was told tx COMMITTED (a Reply or
// an answer) and a member has not durably applied it, or told ABORTED and
// a member applied it. Call it once the cluster has settled.
func (s *Sim) CheckTold(tx string) {
	s.t.Helper()
	told := s.told(tx)
	for _, id := range s.membersOf(tx) {
		applied := s.nodes[id].log.has(false, recIs(protocol.RecCommit, tx))
		if told[wire.StateCommitted] && !applied {
			s.t.Errorf("a client was told %s COMMITTED but %s has not applied it", tx, id)
		}
		if told[wire.StateAborted] && applied {
			s.t.Errorf("a client was told %s ABORTED but %s applied it", tx, id)
		}
	}
}

// membersOf is tx's members as the coordinator's log names them (every
// participant if it names none). A presumed abort's record (no protocol)
// names only who asked.
func (s *Sim) membersOf(tx string) []string {
	for _, r := range s.nodes[CoordID].log.durable {
		if r.TxID == tx && r.Protocol != "" && len(r.Members) > 0 {
			ids := make([]string, len(r.Members))
			for i, m := range r.Members {
				ids[i] = m.ID
			}
			return ids
		}
	}
	return s.ids
}

// checkParallelFixed: a PARALLEL outcome is fixed by the members' durable
// votes before anyone acts on it. COMMIT (sent, told, applied) needs every
// member's PREPARED durable; ABORT needs a member's durable ABORT (its NO,
// or its refusal), and a COMMIT nowhere durable.
func (s *Sim) checkParallelFixed(tx string, commit bool, what string) {
	members := s.membersOf(tx)
	if commit {
		for _, id := range members {
			if !s.nodes[id].log.has(false, recIs(protocol.RecPrepared, tx)) {
				s.t.Errorf("%s: COMMIT of PARALLEL %s while %s's YES was not durable", what, tx, id)
			}
		}
		return
	}
	refused := false
	for _, id := range members {
		l := &s.nodes[id].log
		if l.has(false, recIs(protocol.RecCommit, tx)) {
			s.t.Errorf("%s: ABORT of PARALLEL %s, which %s committed", what, tx, id)
		}
		refused = refused || l.has(false, recIs(protocol.RecAbort, tx))
	}
	if !refused {
		s.t.Errorf("%s: ABORT of PARALLEL %s while no member's NO or refusal was durable", what, tx)
	}
}
