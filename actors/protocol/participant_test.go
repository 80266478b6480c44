package protocol

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

// Direct tests of one Participant: each event in, the exact effects out.

func newPart(t *testing.T, seed map[string]string) *Participant {
	t.Helper()
	p := NewParticipant(ParticipantConfig{NodeID: "B", Timeout: askAfter})
	for k, v := range seed {
		mem(p).put(k, v)
	}
	return p
}

func prepareMsg(tx string, o ...wire.Op) *wire.Prepare {
	return &wire.Prepare{TxID: tx, Protocol: wire.TwoPC, Ops: o, Coord: coordID, CoordAddr: coordAddr,
		Members: []wire.Member{{ID: "B", Addr: addrOf("B")}, {ID: "C", Addr: addrOf("C")}}}
}

func commitMsg(tx string) *wire.Decision { return &wire.Decision{TxID: tx, Commit: true} }

func abortMsg(tx, why string) *wire.Decision {
	return &wire.Decision{TxID: tx, Reason: why}
}

func wantKinds(t *testing.T, what string, effs []Effect, want ...string) {
	t.Helper()
	if got := kinds(effs); !slices.Equal(got, want) {
		t.Fatalf("%s: effects\n  %q\nwant\n  %q", what, got, want)
	}
}

// prepared runs PREPARE and its Logged: the participant is READY on tx.
func prepared(t *testing.T, p *Participant, tx string, o ...wire.Op) Record {
	t.Helper()
	effs := p.Prepare(prepareMsg(tx, o...))
	wantKinds(t, "Prepare", effs, "persist forced PREPARED "+tx)
	rec := effs[0].(Persist).Rec
	wantKinds(t, "Logged(PREPARED)", p.Logged(rec), "send TC VOTE-YES "+tx, "timer "+tx+" #1")
	return rec
}

func queryState(t *testing.T, p *Participant, tx string) wire.State {
	t.Helper()
	effs := p.Query(&wire.Query{TxID: tx, From: "X"})
	s := sends(effs)
	if len(effs) != 1 || len(s) != 1 || s[0].To != "X" {
		t.Fatalf("Query: effects %q", kinds(effs))
	}
	r := s[0].Msg.(*wire.QueryReply)
	if r.TxID != tx || r.From != "B" {
		t.Fatalf("Query reply %+v", r)
	}
	return r.State
}

func TestParticipantPrepareYes(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000"})
	m := prepareMsg("TX1", add("balance", -100))
	effs := p.Prepare(m)
	// Nothing but the forced PREPARED: no vote before it is durable.
	wantKinds(t, "Prepare", effs, "persist forced PREPARED TX1")
	rec := effs[0].(Persist).Rec
	if rec.Coord != coordID || rec.CoordAddr != coordAddr || rec.Protocol != wire.TwoPC ||
		!slices.Equal(rec.Ops, m.Ops) || !slices.Equal(rec.Members, m.Members) {
		t.Fatalf("PREPARED record %+v does not carry the PREPARE's contents", rec)
	}
	// Locked at once, but still unknown to the outside.
	if l := p.Locked(); !slices.Equal(l, [][2]string{{"balance", "TX1"}}) {
		t.Fatalf("locks %v", l)
	}
	// A Query while PREPARED is pending gets no answer at all: the YES vote
	// is on its way, and answering "unknown" would let a peer abort while we
	// vote yes. Nor may it abort the transaction. The asker asks again.
	wantKinds(t, "Query while PREPARED pending", p.Query(&wire.Query{TxID: "TX1", From: "X"}))
	if _, txs := p.Status(); len(txs) != 0 {
		t.Fatalf("Status lists a transaction whose PREPARED is not durable: %v", txs)
	}
	// A lazy record's Logged, or another transaction's, does nothing.
	if effs := p.Logged(Record{Kind: RecPrepared, TxID: "nope"}); effs != nil {
		t.Fatalf("Logged for an unknown transaction: %q", kinds(effs))
	}

	effs = p.Logged(rec)
	wantKinds(t, "Logged", effs, "send TC VOTE-YES TX1", "timer TX1 #1")
	s := effs[0].(Send)
	if s.Addr != coordAddr {
		t.Fatalf("vote sent to addr %q, want %q", s.Addr, coordAddr)
	}
	if v := s.Msg.(*wire.Vote); v.From != "B" || !v.Yes || v.Reason != "" {
		t.Fatalf("vote %+v", v)
	}
	if tm := effs[1].(SetTimer); tm.After != askAfter {
		t.Fatalf("timer after %v, want %v", tm.After, askAfter)
	}
	if st := queryState(t, p, "TX1"); st != wire.StateReady {
		t.Fatalf("Query = %q, want READY", st)
	}
	if store, _ := p.Status(); store["balance"] != "1000" {
		t.Fatalf("store changed before commit: %v", store)
	}
}

// Every validation failure votes NO at once, with the reason, logs ABORT
// lazily, and takes no lock.
func TestParticipantPrepareNo(t *testing.T) {
	seed := map[string]string{"balance": "100", "name": "bob", "big": "9223372036854775800"}
	tests := []struct {
		name   string
		ops    []wire.Op
		reason string
	}{
		{"add below zero", ops(add("balance", -300)), "balance would be -200"},
		{"set negative", ops(set("balance", "-1")), "balance would be -1"},
		{"add to non-integer", ops(add("name", 5)), `ADD name: value "bob" is not an integer`},
		{"add overflow", ops(add("big", 100)), "ADD big: 9223372036854775800 + 100 overflows"},
		{"second op fails", ops(add("balance", -100), add("balance", -1)), "balance would be -1"},
		{"no operations", nil, "no operations"},
		{"empty key", ops(set("", "1")), "empty key"},
		{"unknown verb", []wire.Op{{Kind: "MUL", Key: "balance"}}, `unknown operation "MUL"`},
		{"bad target", []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "1", Target: "a:b"}}, "participant id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPart(t, seed)
			effs := p.Prepare(prepareMsg("TX1", tc.ops...))
			wantKinds(t, "Prepare", effs, "persist lazy ABORT TX1", "send TC VOTE-NO TX1 ("+reasonOf(effs)+")")
			if r := reasonOf(effs); !strings.Contains(r, tc.reason) {
				t.Fatalf("reason %q, want it to contain %q", r, tc.reason)
			}
			if rec := effs[0].(Persist).Rec; rec.Reason != reasonOf(effs) {
				t.Fatalf("ABORT record reason %q, vote reason %q", rec.Reason, reasonOf(effs))
			}
			if l := p.Locked(); len(l) != 0 {
				t.Fatalf("NO voter holds locks %v", l)
			}
			if st := queryState(t, p, "TX1"); st != wire.StateAborted {
				t.Fatalf("state %q, want ABORTED", st)
			}
			if store, _ := p.Status(); !maps.Equal(store, seed) {
				t.Fatalf("store changed: %v", store)
			}
			// A duplicate PREPARE gets the same NO again.
			effs2 := p.Prepare(prepareMsg("TX1", tc.ops...))
			wantKinds(t, "duplicate Prepare", effs2, "send TC VOTE-NO TX1 ("+reasonOf(effs)+")")
			// ABORT from the coordinator is acked at once.
			wantKinds(t, "Decision", p.Decision(coordID, abortMsg("TX1", "B: x")), "send TC ACK TX1 ABORTED")
		})
	}
}

func reasonOf(effs []Effect) string {
	for _, s := range sends(effs) {
		if v, ok := s.Msg.(*wire.Vote); ok {
			return v.Reason
		}
	}
	return ""
}

func TestParticipantDuplicatePrepare(t *testing.T) {
	p := newPart(t, map[string]string{"k": "1"})
	m := prepareMsg("TX1", add("k", 1))
	rec := p.Prepare(m)[0].(Persist).Rec
	// Before PREPARED is durable: nothing (the vote waits for Logged), and
	// no second PREPARED.
	wantKinds(t, "duplicate before durable", p.Prepare(m))
	wantKinds(t, "Logged", p.Logged(rec), "send TC VOTE-YES TX1", "timer TX1 #1")
	// After: the YES again, no new record.
	wantKinds(t, "duplicate after durable", p.Prepare(m), "send TC VOTE-YES TX1")
	// While COMMIT is pending, still READY.
	crec := p.Decision(coordID, commitMsg("TX1"))[0].(Persist).Rec
	wantKinds(t, "duplicate while COMMIT pending", p.Prepare(m), "send TC VOTE-YES TX1")
	p.Logged(crec)
	effs := p.Prepare(m)
	wantKinds(t, "duplicate after commit", effs, "send TC VOTE-NO TX1 (transaction TX1 already committed here)")
	if store, _ := p.Status(); store["k"] != "2" {
		t.Fatalf("store %v, want k=2 applied once", store)
	}
}

func TestParticipantCommit(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000"})
	prepared(t, p, "TX1", add("balance", -100), set("note", "paid"))

	effs := p.Decision(coordID, commitMsg("TX1"))
	wantKinds(t, "COMMIT", effs, "persist forced COMMIT TX1")
	rec := effs[0].(Persist).Rec
	if !effs[0].(Persist).Defer {
		t.Fatal("COMMIT record not deferred: it would start an fsync of its own")
	}
	// Early lock release: the outcome is final (the coordinator forced it),
	// so it is applied and the keys are free at once; the ack waits for the
	// record (TestParticipantEarlyLockRelease: why that is safe).
	if store, _ := p.Status(); store["balance"] != "900" || store["note"] != "paid" {
		t.Fatalf("store %v: COMMIT not applied at once", store)
	}
	p.noLocksT(t)
	// A duplicate COMMIT while the first is pending: no second record, no ack yet.
	wantKinds(t, "duplicate COMMIT while pending", p.Decision(coordID, commitMsg("TX1")))
	// Query while COMMIT is pending: the asker waits for the outcome, which
	// goes out once it is durable.
	wantKinds(t, "Query while COMMIT pending", p.Query(&wire.Query{TxID: "TX1", From: "X"}))
	// The READY timer fires meanwhile: no query, the outcome is known.
	wantKinds(t, "Timer while COMMIT pending", p.Timer("TX1", 1))

	effs = p.Logged(rec)
	wantKinds(t, "Logged(COMMIT)", effs, "send TC ACK TX1 COMMITTED", "send X QUERY-REPLY TX1 COMMITTED")
	if r := effs[1].(Send).Msg.(*wire.QueryReply); r.From != "B" || r.State != wire.StateCommitted {
		t.Fatalf("query reply %+v", r)
	}
	if s := effs[0].(Send); s.Addr != coordAddr {
		t.Fatalf("ack addr %q", s.Addr)
	}
	store, txs := p.Status()
	if want := map[string]string{"balance": "900", "note": "paid"}; !maps.Equal(store, want) {
		t.Fatalf("store %v, want %v", store, want)
	}
	if len(txs) != 1 || txs[0].State != wire.StateCommitted || txs[0].TxID != "TX1" || txs[0].Protocol != wire.TwoPC {
		t.Fatalf("status %+v", txs)
	}
	if l := p.Locked(); len(l) != 0 {
		t.Fatalf("locks after commit: %v", l)
	}
	// Duplicates later: acked again, applied never again.
	wantKinds(t, "duplicate COMMIT", p.Decision(coordID, commitMsg("TX1")), "send TC ACK TX1 COMMITTED")
	wantKinds(t, "timer after commit", p.Timer("TX1", 1))
	if store, _ := p.Status(); store["balance"] != "900" {
		t.Fatalf("store %v after duplicates", store)
	}
}

func TestParticipantAbortReady(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000"})
	prepared(t, p, "TX1", add("balance", -100))
	effs := p.Decision(coordID, abortMsg("TX1", "C: balance would be -5"))
	wantKinds(t, "ABORT", effs, "persist forced ABORT TX1")
	p.noLocksT(t) // released at once; the ack waits for the record
	wantKinds(t, "duplicate ABORT while pending", p.Decision(coordID, abortMsg("TX1", "")))
	wantKinds(t, "Logged(ABORT)", p.Logged(effs[0].(Persist).Rec), "send TC ACK TX1 ABORTED")
	p.noLocksT(t)
	store, txs := p.Status()
	if store["balance"] != "1000" {
		t.Fatalf("store %v", store)
	}
	if len(txs) != 1 || txs[0].State != wire.StateAborted || txs[0].Reason != "C: balance would be -5" {
		t.Fatalf("status %+v", txs)
	}
	wantKinds(t, "duplicate ABORT", p.Decision(coordID, abortMsg("TX1", "")), "send TC ACK TX1 ABORTED")
	wantKinds(t, "late PREPARE", p.Prepare(prepareMsg("TX1", add("balance", -100))),
		"send TC VOTE-NO TX1 (C: balance would be -5)")
}

func (p *Participant) noLocksT(t *testing.T) {
	t.Helper()
	if l := p.Locked(); len(l) != 0 {
		t.Fatalf("locks left: %v", l)
	}
}

// ABORT overtakes PREPARED: once it arrives no YES may ever go out, and the
// locks go when ABORT is durable.
func TestParticipantAbortWhilePreparePending(t *testing.T) {
	for _, order := range []string{"prepared first", "abort first"} {
		t.Run(order, func(t *testing.T) {
			p := newPart(t, map[string]string{"k": "5"})
			m := prepareMsg("TX1", add("k", -1))
			prec := p.Prepare(m)[0].(Persist).Rec
			effs := p.Decision(coordID, abortMsg("TX1", "no vote from B within 1s"))
			wantKinds(t, "ABORT", effs, "persist forced ABORT TX1")
			arec := effs[0].(Persist).Rec
			wantKinds(t, "duplicate PREPARE", p.Prepare(m))
			wantKinds(t, "COMMIT (impossible) while ABORT pending", p.Decision(coordID, commitMsg("TX1")))
			// ABORT is pending: the asker is answered once it is durable
			// (nothing durable says READY, and the outcome is coming).
			wantKinds(t, "Query while ABORT pending", p.Query(&wire.Query{TxID: "TX1", From: "X"}))
			var all []Effect
			if order == "prepared first" {
				all = append(all, p.Logged(prec)...)
				wantKinds(t, "Logged(PREPARED)", all)
				p.noLocksT(t) // released when ABORT was logged
				all = append(all, p.Logged(arec)...)
			} else {
				all = append(all, p.Logged(arec)...)
				all = append(all, p.Logged(prec)...)
			}
			wantKinds(t, "Logged", all, "send TC ACK TX1 ABORTED", "send X QUERY-REPLY TX1 ABORTED")
			p.noLocksT(t)
			wantKinds(t, "PREPARE after", p.Prepare(m), "send TC VOTE-NO TX1 (no vote from B within 1s)")
			wantKinds(t, "timer", p.Timer("TX1", 0))
			wantKinds(t, "timer", p.Timer("TX1", 1))
			if st := queryState(t, p, "TX1"); st != wire.StateAborted {
				t.Fatalf("Query = %q, want ABORTED", st)
			}
		})
	}
}

func TestParticipantDecisionUnknownTxn(t *testing.T) {
	t.Run("commit", func(t *testing.T) {
		p := newPart(t, nil)
		effs := p.Decision(coordID, commitMsg("TX9"))
		wantKinds(t, "COMMIT", effs, "send TC ACK TX9 ")
		if a := effs[0].(Send).Msg.(*wire.Ack); a.State != wire.StateUnknown || a.From != "B" {
			t.Fatalf("ack %+v", a)
		}
		if store, txs := p.Status(); len(store) != 0 || len(txs) != 0 || len(p.txns) != 0 {
			t.Fatalf("COMMIT for an unknown transaction created state: %v %v", store, txs)
		}
		// Asked about it afterwards, it still knows nothing of it: it
		// forces an ABORT (so it can never be prepared) and answers ABORTED
		// once that is durable.
		effs = p.Query(&wire.Query{TxID: "TX9", From: "X"})
		wantKinds(t, "Query", effs, "persist forced ABORT TX9")
		wantKinds(t, "Logged", p.Logged(effs[0].(Persist).Rec), "send X QUERY-REPLY TX9 ABORTED")
		wantKinds(t, "late PREPARE", p.Prepare(prepareMsg("TX9", add("k", 1))),
			"send TC VOTE-NO TX9 (asked by X before it was prepared here)")
		p.noLocksT(t)
	})
	t.Run("abort", func(t *testing.T) {
		p := newPart(t, map[string]string{"k": "1"})
		effs := p.Decision(coordID, abortMsg("TX9", "no vote from B within 1s"))
		wantKinds(t, "ABORT", effs, "persist lazy ABORT TX9", "send TC ACK TX9 ABORTED")
		if rec := effs[0].(Persist).Rec; rec.Reason != "no vote from B within 1s" {
			t.Fatalf("record %+v", rec)
		}
		// A duplicate ABORT is acked again, to whoever sent it (the
		// transaction has no known coordinator here).
		wantKinds(t, "duplicate ABORT", p.Decision(coordID, abortMsg("TX9", "")), "send TC ACK TX9 ABORTED")
		// The PREPARE that was overtaken arrives at last: NO, no lock.
		wantKinds(t, "late PREPARE", p.Prepare(prepareMsg("TX9", add("k", 1))),
			"send TC VOTE-NO TX9 (no vote from B within 1s)")
		p.noLocksT(t)
		if store, _ := p.Status(); store["k"] != "1" {
			t.Fatalf("store %v", store)
		}
	})
	t.Run("abort without reason", func(t *testing.T) {
		p := newPart(t, nil)
		p.Decision(coordID, abortMsg("TX9", ""))
		wantKinds(t, "late PREPARE", p.Prepare(prepareMsg("TX9", add("k", 1))),
			"send TC VOTE-NO TX9 (transaction TX9 already aborted here)")
	})
}

func TestParticipantTimer(t *testing.T) {
	p := newPart(t, nil)
	prepared(t, p, "TX1", set("k", "v"))
	tests := []struct {
		tx   string
		seq  uint64
		want []string
	}{
		{"TX1", 0, nil},
		{"TX1", 2, nil},
		{"nope", 1, nil},
		// The first tick asks only the coordinator; once it stayed silent
		// for a whole interval, every tick asks it and every other member
		// (C; not B itself).
		{"TX1", 1, []string{"send TC QUERY TX1", "timer TX1 #2"}},
		{"TX1", 1, nil}, // stale now
		{"TX1", 2, []string{"send TC QUERY TX1", "send C QUERY TX1", "timer TX1 #3"}},
	}
	for i, tc := range tests {
		effs := p.Timer(tc.tx, tc.seq)
		if got := kinds(effs); !slices.Equal(got, tc.want) {
			t.Fatalf("step %d Timer(%s,%d) = %q, want %q", i, tc.tx, tc.seq, got, tc.want)
		}
		for _, s := range sends(effs) {
			want := coordAddr
			if s.To == "C" {
				want = addrOf("C")
			}
			if q := s.Msg.(*wire.Query); q.From != "B" || q.TxID != "TX1" || s.Addr != want {
				t.Fatalf("query %+v to %s at %q", q, s.To, s.Addr)
			}
		}
	}
	// A 2PC participant never decides by itself, however many silent
	// rounds go by.
	for seq := uint64(3); seq < 20; seq++ {
		wantKinds(t, "silent round", p.Timer("TX1", seq), "send TC QUERY TX1", "send C QUERY TX1",
			"timer TX1 #"+strconv.FormatUint(seq+1, 10))
	}
	// A NO voter never sets a timer and ignores any.
	effs := p.Prepare(prepareMsg("TX2", add("k", 1)))
	if len(timersOf(effs)) != 0 {
		t.Fatal("NO vote set a timer")
	}
	wantKinds(t, "timer on aborted", p.Timer("TX2", 0))
}

func TestParticipantQuery(t *testing.T) {
	p := newPart(t, map[string]string{"k": "1"})
	p.Prepare(prepareMsg("PEND", set("p", "1")))
	prepared(t, p, "READY", set("r", "1"))
	prepared(t, p, "COMMITTING", set("c", "1"))
	p.Decision(coordID, commitMsg("COMMITTING"))
	prepared(t, p, "ABORTING", set("a", "1"))
	p.Decision(coordID, abortMsg("ABORTING", ""))
	crec := Record{Kind: RecCommit, TxID: "DONE"}
	prepared(t, p, "DONE", set("d", "1"))
	p.Decision(coordID, commitMsg("DONE"))
	p.Logged(crec)
	p.Prepare(prepareMsg("NO", add("k", -5)))
	p.Decision(coordID, abortMsg("AB", ""))

	tests := []struct {
		tx   string
		want []string // the Query's effects
	}{
		// Never voted: abort it so it can never be prepared; answer later.
		{"never", []string{"persist forced ABORT never"}},
		{"PEND", nil}, // PREPARED not durable: the YES vote is on its way; silence
		{"READY", []string{"send X QUERY-REPLY READY READY"}},
		{"COMMITTING", nil}, // the outcome is being written: answered from Logged
		{"ABORTING", nil},
		{"DONE", []string{"send X QUERY-REPLY DONE COMMITTED"}},
		{"NO", []string{"send X QUERY-REPLY NO ABORTED"}}, // lazy ABORT of a NO vote
		{"AB", []string{"send X QUERY-REPLY AB ABORTED"}},
	}
	var neverRec Record
	for _, tc := range tests {
		effs := p.Query(&wire.Query{TxID: tc.tx, From: "X"})
		wantKinds(t, "Query("+tc.tx+")", effs, tc.want...)
		if tc.tx == "never" {
			neverRec = effs[0].(Persist).Rec
			if neverRec.Reason != "asked by X before it was prepared here" {
				t.Fatalf("ABORT record %+v", neverRec)
			}
		}
	}
	// Asked twice before it is durable: both askers are answered once.
	wantKinds(t, "second query", p.Query(&wire.Query{TxID: "never", From: "Y"}))
	wantKinds(t, "Logged(ABORT never)", p.Logged(neverRec),
		"send X QUERY-REPLY never ABORTED", "send Y QUERY-REPLY never ABORTED")
	wantKinds(t, "Logged(COMMIT COMMITTING)", p.Logged(Record{Kind: RecCommit, TxID: "COMMITTING"}),
		"send TC ACK COMMITTING COMMITTED", "send X QUERY-REPLY COMMITTING COMMITTED")
	wantKinds(t, "Logged(ABORT ABORTING)", p.Logged(Record{Kind: RecAbort, TxID: "ABORTING"}),
		"send TC ACK ABORTING ABORTED", "send X QUERY-REPLY ABORTING ABORTED")
	// Nobody is left waiting: a second Logged answers nobody again.
	wantKinds(t, "Logged again", p.Logged(neverRec))
	// PEND's vote goes out when PREPARED is durable; X is not answered.
	wantKinds(t, "Logged(PREPARED PEND)", p.Logged(Record{Kind: RecPrepared, TxID: "PEND"}),
		"send TC VOTE-YES PEND", "timer PEND #1")
	for tx, want := range map[string]wire.State{"PEND": wire.StateReady, "never": wire.StateAborted,
		"COMMITTING": wire.StateCommitted, "ABORTING": wire.StateAborted} {
		if got := queryState(t, p, tx); got != want {
			t.Errorf("Query(%s) = %q, want %q", tx, got, want)
		}
	}
	_, txs := p.Status()
	var ids []string
	for _, s := range txs {
		ids = append(ids, s.TxID+"="+string(s.State))
	}
	want := []string{"PEND=READY", "READY=READY", "COMMITTING=COMMITTED", "ABORTING=ABORTED", "DONE=COMMITTED",
		"NO=ABORTED", "AB=ABORTED", "never=ABORTED"}
	if !slices.Equal(ids, want) {
		t.Fatalf("Status transactions %v, want %v", ids, want)
	}
	// "never" can no longer be prepared here.
	wantKinds(t, "PREPARE after the query", p.Prepare(prepareMsg("never", set("n", "1"))),
		"send TC VOTE-NO never (asked by X before it was prepared here)")
}

func TestParticipantLocking(t *testing.T) {
	type step struct {
		tx     string
		ops    []wire.Op
		yes    bool
		reason string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"same key", []step{
			{"TX1", ops(add("balance", -100)), true, ""},
			{"TX2", ops(add("balance", -1)), false, "key balance is locked by TX1"},
		}},
		{"different keys", []step{
			{"TX1", ops(add("balance", -100)), true, ""},
			{"TX2", ops(add("other", 1)), true, ""},
		}},
		{"one shared key among several", []step{
			{"TX1", ops(set("a", "1"), set("b", "2")), true, ""},
			{"TX2", ops(set("c", "1"), del("b")), false, "key b is locked by TX1"},
			{"TX3", ops(set("c", "3")), true, ""},
		}},
		{"conflict checked before validity", []step{
			{"TX1", ops(add("balance", -100)), true, ""},
			{"TX2", ops(add("balance", -5000)), false, "locked by TX1"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPart(t, map[string]string{"balance": "1000"})
			for _, st := range tc.steps {
				effs := p.Prepare(prepareMsg(st.tx, st.ops...))
				if st.yes {
					wantKinds(t, st.tx, effs, "persist forced PREPARED "+st.tx)
					p.Logged(effs[0].(Persist).Rec)
					continue
				}
				if r := reasonOf(effs); !strings.Contains(r, st.reason) {
					t.Fatalf("%s: vote %q, want NO with %q", st.tx, kinds(effs), st.reason)
				}
			}
		})
	}

	// The lock is free again once the holder commits, and the next
	// transaction sees the committed value.
	p := newPart(t, map[string]string{"balance": "1000"})
	prepared(t, p, "TX1", add("balance", -900))
	if r := reasonOf(p.Prepare(prepareMsg("TX2", add("balance", -50)))); r != "key balance is locked by TX1" {
		t.Fatalf("TX2 reason %q", r)
	}
	p.Logged(p.Decision(coordID, commitMsg("TX1"))[0].(Persist).Rec)
	if r := reasonOf(p.Prepare(prepareMsg("TX3", add("balance", -200)))); r != "balance would be -100" {
		t.Fatalf("TX3 reason %q", r)
	}
	prepared(t, p, "TX4", add("balance", -100))
	if l := p.Locked(); !slices.Equal(l, [][2]string{{"balance", "TX4"}}) {
		t.Fatalf("locks %v", l)
	}
	// An ABORT of a NO voter must not release someone else's lock.
	wantKinds(t, "abort TX2", p.Decision(coordID, abortMsg("TX2", "")), "send TC ACK TX2 ABORTED")
	if l := p.Locked(); !slices.Equal(l, [][2]string{{"balance", "TX4"}}) {
		t.Fatalf("locks %v after aborting a NO voter", l)
	}
}
