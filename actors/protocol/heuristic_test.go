package protocol

import (
	"reflect"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

// Heuristic decisions (txcli resolve) on one Participant, and what the
// coordinator makes of a heuristic ack.

// resolveReq asks p to resolve tx; it returns the effects.
func resolveReq(p *Participant, token uint64, tx string, commit bool) []Effect {
	return p.Resolve(token, &wire.Resolve{ReqID: token * 10, TxID: tx, Commit: commit})
}

// answerOf is the single Answer among effs.
func answerOf(t *testing.T, effs []Effect) (uint64, *wire.ResolveResult) {
	t.Helper()
	var found []Answer
	for _, e := range effs {
		if a, ok := e.(Answer); ok {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one Answer, got effects %q", kinds(effs))
	}
	return found[0].To.(uint64), found[0].Msg.(*wire.ResolveResult)
}

// resolved runs a Resolve and its Logged: tx ends heuristically decided.
func resolved(t *testing.T, p *Participant, tx string, commit bool) Record {
	t.Helper()
	effs := resolveReq(p, 1, tx, commit)
	wantKinds(t, "Resolve", effs, "persist forced HEURISTIC "+tx)
	rec := effs[0].(Persist).Rec
	if rec.Commit != commit || rec.Coord != coordID || rec.CoordAddr != coordAddr {
		t.Fatalf("HEURISTIC record %+v", rec)
	}
	tok, r := answerOf(t, p.Logged(rec))
	if tok != 1 || r.ReqID != 10 || !r.Applied || r.Refused || !r.Heuristic || r.State != outcome(commit) {
		t.Fatalf("answer %d %+v", tok, r)
	}
	return rec
}

func txStatus(t *testing.T, p *Participant, tx string) wire.TxStatus {
	t.Helper()
	_, txs := p.Status()
	for _, s := range txs {
		if s.TxID == tx {
			return s
		}
	}
	t.Fatalf("%s not in status %+v", tx, txs)
	return wire.TxStatus{}
}

func TestResolveCommitsReady(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000"})
	prepared(t, p, "TX1", add("balance", -100))
	effs := resolveReq(p, 1, "TX1", true)
	// Nothing is applied or answered before the record is durable.
	wantKinds(t, "Resolve", effs, "persist forced HEURISTIC TX1")
	if store, _ := p.Status(); store["balance"] != "1000" || len(p.Locked()) != 1 {
		t.Fatalf("applied before durable: %v %v", store, p.Locked())
	}
	// A decision arriving meanwhile waits: the sender retransmits.
	wantKinds(t, "Decision while logging", p.Decision(coordID, commitMsg("TX1")))

	tok, r := answerOf(t, p.Logged(effs[0].(Persist).Rec))
	if tok != 1 || !r.Applied || !r.Heuristic || r.State != wire.StateCommitted || !strings.Contains(r.Reason, "heuristic COMMIT") {
		t.Fatalf("answer %+v", r)
	}
	if store, _ := p.Status(); store["balance"] != "900" {
		t.Fatalf("store %v", store)
	}
	p.noLocksT(t)
	st := txStatus(t, p, "TX1")
	if st.State != wire.StateCommitted || !st.Heuristic || st.Damage || !strings.Contains(st.Reason, "while READY") {
		t.Fatalf("status %+v", st)
	}
	// Peers asking get no answer (heuristic.go: not protocol evidence),
	// and the in-doubt timer is over.
	wantKinds(t, "Query", p.Query(&wire.Query{TxID: "TX1", From: "C"}))
	wantKinds(t, "Timer", p.Timer("TX1", 1))
}

func TestResolveAbortsPrecommitted(t *testing.T) {
	p := newPart(t, map[string]string{"k": "old"})
	m := prepareMsg("TX1", set("k", "new"))
	m.Protocol = wire.ThreePC
	rec := p.Prepare(m)[0].(Persist).Rec
	p.Logged(rec)
	wantKinds(t, "PreCommit", p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"}), "persist forced PRECOMMIT TX1")
	p.Logged(Record{Kind: RecPreCommit, TxID: "TX1"})
	resolved(t, p, "TX1", false)
	if store, _ := p.Status(); store["k"] != "old" {
		t.Fatalf("store %v", store)
	}
	p.noLocksT(t)
	if st := txStatus(t, p, "TX1"); st.State != wire.StateAborted || !st.Heuristic || !strings.Contains(st.Reason, "while PRECOMMITTED") {
		t.Fatalf("status %+v", st)
	}
	// A 3PC coordinator's PRE-COMMIT is answered with the heuristic outcome,
	// marked: it has not decided, so following it keeps the transaction atomic.
	effs := p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"})
	wantKinds(t, "PreCommit after", effs, "send TC ACK TX1 ABORTED")
	if a := effs[0].(Send).Msg.(*wire.Ack); !a.Heuristic {
		t.Fatalf("ack %+v not marked heuristic", a)
	}
}

// A PRE-COMMIT being logged does not stop an operator; the PRECOMMIT record
// turning durable afterwards changes nothing.
func TestResolveOvertakesPrecommit(t *testing.T) {
	p := newPart(t, nil)
	m := prepareMsg("TX1", set("k", "v"))
	m.Protocol = wire.ThreePC
	p.Logged(p.Prepare(m)[0].(Persist).Rec)
	p.PreCommit(coordID, &wire.PreCommit{TxID: "TX1"})
	rec := resolveReq(p, 1, "TX1", true)[0].(Persist).Rec
	wantKinds(t, "PRECOMMIT durable", p.Logged(Record{Kind: RecPreCommit, TxID: "TX1"}))
	answerOf(t, p.Logged(rec))
	if st := txStatus(t, p, "TX1"); st.State != wire.StateCommitted || !st.Heuristic {
		t.Fatalf("status %+v", st)
	}
}

func TestResolveRefusesAndIsIdempotent(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "100"})
	prepared(t, p, "ready", set("r", "1"))
	prepared(t, p, "committed", set("c", "1"))
	p.Logged(p.Decision(coordID, commitMsg("committed"))[0].(Persist).Rec)
	prepared(t, p, "aborted", set("a", "1"))
	p.Logged(p.Decision(coordID, abortMsg("aborted", "B said no"))[0].(Persist).Rec)
	prepared(t, p, "heur", set("h", "1"))
	resolved(t, p, "heur", false)
	p.Prepare(prepareMsg("voting", set("v", "1"))) // PREPARED not durable: no vote yet
	prepared(t, p, "settling", set("s", "1"))
	p.Decision(coordID, commitMsg("settling")) // COMMIT not durable
	prepared(t, p, "forgotten", set("f", "1"))
	p.Logged(p.Decision(coordID, commitMsg("forgotten"))[0].(Persist).Rec)
	p.Forget([]string{"forgotten"})

	tests := []struct {
		tx        string
		commit    bool
		refused   bool
		state     wire.State
		heuristic bool
		reason    string
	}{
		{"nope", true, true, wire.StateUnknown, false, "not known here"},
		{"voting", true, true, wire.StateUnknown, false, "has not voted"},
		{"settling", false, true, wire.StateReady, false, "being logged"},
		{"committed", true, false, wire.StateCommitted, false, "already COMMITTED here (by the protocol): nothing to do"},
		{"committed", false, true, wire.StateCommitted, false, "cannot undo"},
		{"aborted", false, false, wire.StateAborted, false, "already ABORTED"},
		{"aborted", true, true, wire.StateAborted, false, "refusing to COMMIT"},
		{"heur", false, false, wire.StateAborted, true, "already ABORTED here (heuristically)"},
		{"heur", true, true, wire.StateAborted, true, "cannot undo"},
		{"forgotten", true, false, wire.StateCommitted, false, "nothing to do"},
		{"forgotten", false, true, wire.StateCommitted, false, "cannot undo"},
	}
	for _, tc := range tests {
		store, _ := p.Status()
		effs := resolveReq(p, 7, tc.tx, tc.commit)
		tok, r := answerOf(t, effs)
		if len(effs) != 1 || tok != 7 || r.ReqID != 70 || r.TxID != tc.tx || r.Applied || r.Refused != tc.refused ||
			r.State != tc.state || r.Heuristic != tc.heuristic || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("resolve %s commit=%v: %q %+v", tc.tx, tc.commit, kinds(effs), r)
		}
		if after, _ := p.Status(); !reflect.DeepEqual(store, after) {
			t.Errorf("resolve %s changed the store", tc.tx)
		}
	}
	if st := txStatus(t, p, "ready"); st.State != wire.StateReady || st.Heuristic {
		t.Fatalf("an unrelated transaction changed: %+v", st)
	}
}

// Two requests at once: the same outcome waits for the record and both are
// answered; the other outcome is refused.
func TestResolveConcurrentRequests(t *testing.T) {
	p := newPart(t, nil)
	prepared(t, p, "TX1", set("k", "v"))
	rec := resolveReq(p, 1, "TX1", true)[0].(Persist).Rec
	wantKinds(t, "same outcome while logging", resolveReq(p, 2, "TX1", true))
	if _, r := answerOf(t, resolveReq(p, 3, "TX1", false)); !r.Refused || !strings.Contains(r.Reason, "another request") {
		t.Fatalf("opposite while logging: %+v", r)
	}
	effs := p.Logged(rec)
	wantKinds(t, "Logged", effs, "answer client *wire.ResolveResult", "answer client *wire.ResolveResult")
	for i, e := range effs {
		a := e.(Answer)
		if r := a.Msg.(*wire.ResolveResult); a.To.(uint64) != uint64(i+1) || r.ReqID != a.To.(uint64)*10 || !r.Applied {
			t.Fatalf("answer %d: %d %+v", i, a.To.(uint64), r)
		}
	}
	wantKinds(t, "Logged again", p.Logged(rec))
}

func TestResolveThenDecisionAgrees(t *testing.T) {
	p := newPart(t, nil)
	prepared(t, p, "TX1", set("k", "v"))
	resolved(t, p, "TX1", true)
	effs := p.Decision(coordID, commitMsg("TX1"))
	wantKinds(t, "agreeing COMMIT", effs, "send TC ACK TX1 COMMITTED")
	if a := effs[0].(Send).Msg.(*wire.Ack); !a.Heuristic || effs[0].(Send).Addr != coordAddr {
		t.Fatalf("ack %+v", effs[0])
	}
	if st := txStatus(t, p, "TX1"); !st.Heuristic || st.Damage {
		t.Fatalf("status %+v", st)
	}
}

func TestResolveThenDecisionContradicts(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000"})
	prepared(t, p, "TX1", add("balance", -100))
	resolved(t, p, "TX1", false)
	effs := p.Decision(coordID, commitMsg("TX1"))
	// Alarm, then the note forced; no ack before it is durable.
	wantKinds(t, "contradicting COMMIT", effs, "protocol.Alarm", "persist forced HEURISTIC-DAMAGE TX1")
	if al := effs[0].(Alarm); al.Heuristic != wire.StateAborted || al.Decided != wire.StateCommitted || al.From != coordID ||
		!strings.HasPrefix(al.Msg, "heuristic damage") {
		t.Fatalf("alarm %+v", al)
	}
	rec := effs[1].(Persist).Rec
	wantKinds(t, "retransmitted while logging", p.Decision(coordID, commitMsg("TX1")))
	effs = p.Logged(rec)
	wantKinds(t, "damage durable", effs, "send TC ACK TX1 ABORTED")
	if a := effs[0].(Send).Msg.(*wire.Ack); !a.Heuristic {
		t.Fatalf("ack %+v", a)
	}
	// The heuristic outcome stays; status says what happened.
	if store, _ := p.Status(); store["balance"] != "1000" {
		t.Fatalf("store %v", store)
	}
	st := txStatus(t, p, "TX1")
	if st.State != wire.StateAborted || !st.Heuristic || !st.Damage || st.Reason != "heuristic damage: the coordinator TC decided COMMIT" {
		t.Fatalf("status %+v", st)
	}
	// Retransmissions are acked, with no second alarm.
	wantKinds(t, "retransmitted", p.Decision(coordID, commitMsg("TX1")), "send TC ACK TX1 ABORTED")
	// Forgotten, it stays visible in the history.
	p.Forget([]string{"TX1"})
	if st := txStatus(t, p, "TX1"); !st.Heuristic || !st.Damage {
		t.Fatalf("forgotten status %+v", st)
	}
}

// A 3PC termination leader's decision that contradicts is damage too,
// acknowledged to the leader.
func TestResolveThenLeaderContradicts(t *testing.T) {
	p := newPart(t, nil)
	prepared(t, p, "TX1", set("k", "v"))
	resolved(t, p, "TX1", true)
	effs := p.Decision("C", abortMsg("TX1", "termination"))
	wantKinds(t, "leader ABORT", effs, "protocol.Alarm", "persist forced HEURISTIC-DAMAGE TX1")
	wantKinds(t, "durable", p.Logged(effs[1].(Persist).Rec), "send C ACK TX1 COMMITTED")
	if st := txStatus(t, p, "TX1"); st.Reason != "heuristic damage: C decided ABORT" {
		t.Fatalf("status %+v", st)
	}
}

// Replaying the log, and replaying a checkpoint of it, give the same
// participant: the outcome stays heuristic, damage included.
func TestResolveReplayAndSnapshot(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000"})
	var log []Record
	log = append(log, prepared(t, p, "dmg", add("balance", -100)))
	log = append(log, resolved(t, p, "dmg", true))
	dmg := p.Decision(coordID, abortMsg("dmg", ""))[1].(Persist).Rec
	log = append(log, dmg)
	p.Logged(dmg)
	log = append(log, prepared(t, p, "ok", set("x", "1")))
	log = append(log, resolved(t, p, "ok", false))
	log = append(log, prepared(t, p, "pending", set("y", "1")))
	pend := resolveReq(p, 5, "pending", true)[0].(Persist).Rec // not durable yet
	log = append(log, prepared(t, p, "ready", set("z", "1")))

	// The log as written (the pending record counts as written).
	full := newPart(t, map[string]string{"balance": "1000"})
	for _, r := range append(log, pend) {
		if err := full.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	if st := txStatus(t, full, "dmg"); st.State != wire.StateCommitted || !st.Heuristic || !st.Damage ||
		st.Reason != "heuristic damage: the coordinator TC decided ABORT" {
		t.Fatalf("replayed %+v", st)
	}
	if st := txStatus(t, full, "pending"); st.State != wire.StateCommitted || !st.Heuristic {
		t.Fatalf("replayed pending %+v", st)
	}
	// A checkpoint of p replays to the same.
	snap := NewParticipant(ParticipantConfig{NodeID: "B"})
	for _, r := range p.Snapshot() {
		if err := snap.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []*Participant{snap} {
		gs, gt := q.Status()
		ws, wt := full.Status()
		if !reflect.DeepEqual(gs, ws) || !reflect.DeepEqual(gt, wt) || !reflect.DeepEqual(q.Locked(), full.Locked()) {
			t.Fatalf("checkpoint replays to\n %v %+v %v\nwant\n %v %+v %v", gs, gt, q.Locked(), ws, wt, full.Locked())
		}
	}
	if store, _ := full.Status(); store["balance"] != "900" || store["y"] != "1" || store["x"] != "" {
		t.Fatalf("store %v", store)
	}
	// And a decision after the restart is still compared with it.
	wantKinds(t, "after restart", full.Decision(coordID, abortMsg("ok", "")), "send TC ACK ok ABORTED")
	if len(full.Recovered()) != 2 { // only "ready" is in doubt: query + timer
		t.Fatalf("recovered effects %q", kinds(full.Recovered()))
	}
}

func TestCoordHeuristicAcks(t *testing.T) {
	c := newCoord(t, 0, "B", "C")
	c.Start()
	c.Vote(yes("B"))
	rec := decision(t, c.Vote(yes("C")))
	c.Logged(rec)
	c.Ack(&wire.Ack{TxID: "TX1", From: "B", State: wire.StateCommitted, Heuristic: true})
	if st := c.Status(); !st.Heuristic || st.Damage || st.Reason != "" {
		t.Fatalf("agreeing heuristic ack: %+v", st)
	}
	effs := c.Ack(&wire.Ack{TxID: "TX1", From: "C", State: wire.StateAborted, Heuristic: true})
	wantKinds(t, "contradicting ack", effs, "persist lazy END TX1", "finished TX1")
	st := c.Status()
	if !st.Heuristic || !st.Damage || st.Participants["C"] != wire.StateAborted ||
		st.Reason != "heuristic damage: decided COMMIT, but an operator made C: ABORTED" {
		t.Fatalf("status %+v", st)
	}
	if d := c.HeuristicDamage(); len(d) != 1 || d[0] != "C: ABORTED" {
		t.Fatalf("damage %q", d)
	}
	// Status shows what C applied even where the coordinator's own record
	// says otherwise (as a recovery from the log assumes the decision).
	c.state["C"] = wire.StateCommitted
	if st := c.Status(); st.Participants["C"] != wire.StateAborted {
		t.Fatalf("status after an assumed state %+v", st)
	}
	// An ack not from a member is not noted.
	c.Ack(&wire.Ack{TxID: "TX1", From: "X", State: wire.StateAborted, Heuristic: true})
	if d := c.HeuristicDamage(); len(d) != 1 {
		t.Fatalf("damage %q", d)
	}
}
