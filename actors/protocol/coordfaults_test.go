package protocol

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

// A member known unreachable while its vote is awaited aborts the
// transaction at once, saying why; once it voted, or after the decision,
// it changes nothing.
func TestCoordUnreachableMember(t *testing.T) {
	for _, proto := range []wire.Protocol{wire.TwoPC, wire.ThreePC} {
		c := newCoord(t, 0, abc...)
		c.protocol = proto
		c.Start()
		wantKinds(t, "unknown member", c.Unreachable("X", "refused"))
		c.Vote(yes("A"))
		wantKinds(t, "A voted", c.Unreachable("A", "refused"))
		effs := c.Unreachable("B", "dial tcp b:1: connection refused")
		rec := decision(t, effs)
		if rec.Commit || rec.Reason != "participant B unreachable: dial tcp b:1: connection refused" {
			t.Fatalf("%s: decision %+v", proto, rec)
		}
		wantKinds(t, "again, while logging", c.Unreachable("C", "refused"))
		effs = c.Logged(rec)
		if r := replyOf(t, effs); r.Outcome != wire.StateAborted || r.Reason != rec.Reason || r.TooOld {
			t.Fatalf("%s: reply %+v", proto, r)
		}
		wantKinds(t, "after the decision", c.Unreachable("C", "refused"))
	}
	// 3PC after the votes: pre-committing is not disturbed.
	c := newCoord(t, 0, "A", "B")
	c.protocol = wire.ThreePC
	c.Start()
	c.Logged(Record{Kind: RecBegin, TxID: "TX1"})
	c.Vote(yes("A"))
	c.Vote(yes("B"))
	wantKinds(t, "pre-acking", c.Unreachable("B", "refused"))
}

// A retry of an id a member had committed in an earlier run (Vote.Known)
// aborts this run, logs TOO-OLD, and the client hears "too old", never
// ABORTED. A member remembering ABORTED is an ordinary NO.
func TestCoordRetryOfCommittedId(t *testing.T) {
	c := newCoord(t, 0, "A", "B")
	c.Start()
	c.Vote(yes("A"))
	effs := c.Vote(&wire.Vote{TxID: "TX1", From: "B", Reason: "transaction TX1 already COMMITTED here", Known: wire.StateCommitted})
	wantKinds(t, "known COMMITTED", effs, "persist lazy TOO-OLD TX1", "persist forced DECISION TX1")
	rec := decision(t, effs)
	if rec.Commit || !strings.Contains(rec.Reason, "too old") || !strings.Contains(rec.Reason, "B remembers it COMMITTED") {
		t.Fatalf("decision %+v", rec)
	}
	if tr := effs[0].(Persist).Rec; tr.Reason != rec.Reason {
		t.Fatalf("TOO-OLD %+v", tr)
	}
	effs = c.Logged(rec)
	wantKinds(t, "Logged", effs, "send A ABORT TX1", "reply TX1 ABORTED")
	if r := replyOf(t, effs); !r.TooOld || r.Reason != rec.Reason || !c.TooOld() {
		t.Fatalf("reply %+v", r)
	}

	// Another member's NO came first: the abort is being logged when the
	// known COMMITTED arrives; the client still hears "too old".
	c = newCoord(t, 0, "A", "B")
	c.Start()
	rec = decision(t, c.Vote(no("A", "key k is locked by T9")))
	effs = c.Vote(&wire.Vote{TxID: "TX1", From: "B", Known: wire.StateCommitted})
	wantKinds(t, "known COMMITTED while logging", effs, "persist lazy TOO-OLD TX1")
	if r := replyOf(t, c.Logged(rec)); !r.TooOld || !strings.Contains(r.Reason, "too old") {
		t.Fatalf("reply %+v", r)
	}

	// Known ABORTED: an ordinary abort.
	c = newCoord(t, 0, "A", "B")
	c.Start()
	effs = c.Vote(&wire.Vote{TxID: "TX1", From: "B", Reason: "transaction TX1 already ABORTED here", Known: wire.StateAborted})
	wantKinds(t, "known ABORTED", effs, "persist forced DECISION TX1")
	if r := replyOf(t, c.Logged(decision(t, effs))); r.TooOld {
		t.Fatalf("reply %+v", r)
	}
}

// The participant says what it knows of an id it has decided.
func TestParticipantVoteKnown(t *testing.T) {
	p := NewParticipant(ParticipantConfig{NodeID: "B"})
	prep := &wire.Prepare{TxID: "T", Protocol: wire.TwoPC, Ops: []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}}, Coord: "C0"}
	p.Prepare(prep)
	p.Logged(Record{Kind: RecPrepared, TxID: "T"})
	p.Decision("C0", &wire.Decision{TxID: "T", Commit: true})
	p.Logged(Record{Kind: RecCommit, TxID: "T"})
	vote := func(what string) *wire.Vote {
		t.Helper()
		effs := p.Prepare(prep)
		if len(effs) != 1 {
			t.Fatalf("%s: %q", what, kinds(effs))
		}
		return effs[0].(Send).Msg.(*wire.Vote)
	}
	if v := vote("committed"); v.Yes || v.Known != wire.StateCommitted {
		t.Fatalf("committed: %+v", v)
	}
	p.Forget([]string{"T"})
	if v := vote("forgotten"); v.Yes || v.Known != wire.StateCommitted {
		t.Fatalf("forgotten: %+v", v)
	}
}

// The TOO-OLD mark survives a checkpoint.
func TestCoordLogTooOld(t *testing.T) {
	l := NewCoordLog(10)
	ms := []wire.Member{{ID: "B"}}
	l.Apply(Record{Kind: RecBegin, TxID: "x", Protocol: wire.TwoPC, Members: ms})
	l.Apply(Record{Kind: RecTooOld, TxID: "x", Reason: "too old"})
	l.Apply(Record{Kind: RecDecision, TxID: "x", Reason: "too old"})
	l.Apply(Record{Kind: RecEnd, TxID: "x"})
	if g := l.Get("x"); !g.TooOld || g.Reason != "too old" {
		t.Fatalf("%+v", g)
	}
	m := NewCoordLog(10)
	for _, r := range l.Snapshot() {
		if err := m.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(m.All(), l.All()) {
		t.Fatalf("snapshot replays to %+v, want %+v", *m.All()[0], *l.All()[0])
	}
}

// The window of ended transactions is bounded in estimated bytes as well as
// in number: long reasons make it forget the oldest sooner; unended ones
// are never forgotten.
func TestCoordLogWindowBytes(t *testing.T) {
	const limit = 64 << 10
	l := NewCoordLog(1000).LimitBytes(limit)
	long := strings.Repeat("r", 4000)
	ms := []wire.Member{{ID: "B", Addr: "b:1"}}
	l.Apply(Record{Kind: RecBegin, TxID: "open", Members: ms})
	for i := range 200 {
		id := "t" + strconv.Itoa(i)
		l.Apply(Record{Kind: RecBegin, TxID: id, Members: ms})
		l.Apply(Record{Kind: RecDecision, TxID: id, Reason: long})
		l.Apply(Record{Kind: RecEnd, TxID: id})
		if l.endedBytes > limit+limit/4 {
			t.Fatalf("after %d: %d bytes remembered, bound %d (+ a quarter)", i, l.endedBytes, limit)
		}
	}
	var sum int64
	for _, tx := range l.All() {
		if tx.Ended {
			sum += LoggedCost(tx)
		}
	}
	if sum != l.endedBytes || l.Get("open") == nil || l.Get("t199") == nil || l.Get("t0") != nil {
		t.Fatalf("accounted %d, counted %d; open kept %v, newest kept %v, oldest gone %v",
			l.endedBytes, sum, l.Get("open") != nil, l.Get("t199") != nil, l.Get("t0") == nil)
	}
	if n := len(l.All()); n > 1+limit/4000+limit/4/4000+1 || int64(n) < limit/LoggedCost(l.Get("t199")) {
		t.Fatalf("%d remembered", n)
	}
	// Short reasons: the count binds.
	l = NewCoordLog(10).LimitBytes(limit)
	for i := range 100 {
		id := "s" + strconv.Itoa(i)
		l.Apply(Record{Kind: RecBegin, TxID: id, Members: ms})
		l.Apply(Record{Kind: RecEnd, TxID: id})
	}
	if n := len(l.All()); n < 10 || n > 13 {
		t.Fatalf("%d remembered, want the 10 of the window (up to a quarter more)", n)
	}
}
