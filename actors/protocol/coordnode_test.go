package protocol

import (
	"fmt"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// Direct tests of the Coordinator's node-level rules: each event in, the
// exact effects out.

// clock is a settable time source.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

var bc = []wire.Member{{ID: "B", Addr: "b:1"}, {ID: "C", Addr: "c:1"}}

func newNode(t *testing.T, keep int) (*Coordinator, *clock) {
	t.Helper()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c := NewCoordinator(CoordinatorConfig{
		CoordConfig: CoordConfig{NodeID: coordID, Addr: coordAddr, Vote: voteAfter},
		Retry:       250 * time.Millisecond, MaxInflight: 3, Keep: keep, Now: clk.Now,
	})
	return c, clk
}

func startReq(tx string, reqID uint64) *wire.Start {
	return &wire.Start{ReqID: reqID, TxID: tx, Protocol: wire.TwoPC, Ops: ops(set("k", "v"))}
}

// client and part are the origins (connections) of a client and of the
// participants in these tests.
const client = "client-conn"

func part(id string) From { return From{Conn: "conn-" + id, Node: id} }

func vote(tx, from string, yes bool) *wire.Vote {
	return &wire.Vote{TxID: tx, From: from, Yes: yes}
}

func ackOf(tx, from string, st wire.State) *wire.Ack {
	return &wire.Ack{TxID: tx, From: from, State: st}
}

// committed runs tx to its end with both members voting YES and acking.
func committed(t *testing.T, c *Coordinator, tx string, reqID uint64) {
	t.Helper()
	c.Start(From{Conn: client}, startReq(tx, reqID), bc)
	c.Vote(part("B"), vote(tx, "B", true))
	effs := c.Vote(part("C"), vote(tx, "C", true))
	c.Logged(decision(t, effs))
	c.Ack(part("B"), ackOf(tx, "B", wire.StateCommitted))
	wantKinds(t, "last ack", c.Ack(part("C"), ackOf(tx, "C", wire.StateCommitted))[:2],
		"persist lazy END "+tx, "finished "+tx)
}

func TestCoordinatorRunsOneTransaction(t *testing.T) {
	c, _ := newNode(t, 10)
	effs := c.Start(From{Conn: client}, startReq("TX1", 7), bc)
	wantKinds(t, "Start", effs, "persist lazy BEGIN TX1", "send B PREPARE TX1", "resend-timer TX1 #1",
		"send C PREPARE TX1", "timer TX1 #1")
	if tm := effs[4].(SetTimer); tm.Kind != TimerPhase || tm.Due.IsZero() {
		t.Fatalf("phase timer %+v", tm)
	}
	wantKinds(t, "B yes", c.Vote(part("B"), vote("TX1", "B", true)))
	effs = c.Vote(part("C"), vote("TX1", "C", true))
	wantKinds(t, "C yes", effs, "persist forced DECISION TX1")
	effs = c.Logged(decision(t, effs))
	wantKinds(t, "decision durable", effs, "send B COMMIT TX1", "send C COMMIT TX1",
		"reply TX1 COMMITTED", "answer client RESULT#7 TX1 COMMITTED")
	if r := replyOf(t, effs); r.Protocol != wire.TwoPC || !r.Client {
		t.Fatalf("Reply %+v", r)
	}
	if c.Undecided() != 0 || c.Running() != 1 {
		t.Fatalf("undecided %d running %d", c.Undecided(), c.Running())
	}
	wantKinds(t, "B ack", c.Ack(part("B"), ackOf("TX1", "B", wire.StateCommitted)))
	wantKinds(t, "C ack", c.Ack(part("C"), ackOf("TX1", "C", wire.StateCommitted)),
		"persist lazy END TX1", "finished TX1", "forget-timer")
	wantKinds(t, "forget", c.Timer(SetTimer{Kind: TimerForget}),
		"send B FORGET TX1", "send C FORGET TX1")
	if c.Running() != 0 {
		t.Fatalf("running %d after the end", c.Running())
	}
}

func TestCoordinatorRetriedID(t *testing.T) {
	c, _ := newNode(t, 10)
	c.Start(From{Conn: client}, startReq("TX1", 1), bc)
	wantKinds(t, "retry while voting", c.Start(From{Conn: "other"}, startReq("TX1", 2), bc))
	c.Vote(part("B"), vote("TX1", "B", true))
	effs := c.Vote(part("C"), vote("TX1", "C", false))
	effs = c.Logged(decision(t, effs))
	wantKinds(t, "abort durable: both requests answered", effs, "send B ABORT TX1",
		"reply TX1 ABORTED", "answer client RESULT#1 TX1 ABORTED", "answer client RESULT#2 TX1 ABORTED")
	wantKinds(t, "retry once decided", c.Start(From{Conn: client}, startReq("TX1", 3), bc),
		"answer client RESULT#3 TX1 ABORTED")
	if a := c.Start(From{Conn: client}, startReq("TX1", 4), bc)[0].(Answer); a.To != client {
		t.Fatalf("answered on %v, not the retry's connection", a.To)
	}
}

func TestCoordinatorPresumedAbortIsLogged(t *testing.T) {
	c, _ := newNode(t, 10)
	q := &wire.Query{TxID: "TX9", From: "B"}
	wantKinds(t, "a stranger asks", c.Query(From{Conn: client}, q), "answer client ABORT TX9")
	effs := c.Query(part("B"), q)
	wantKinds(t, "a participant asks", effs, "persist forced DECISION TX9")
	wantKinds(t, "it asks again meanwhile", c.Query(part("B"), q))
	wantKinds(t, "a client retries meanwhile", c.Start(From{Conn: client}, startReq("TX9", 5), bc))
	wantKinds(t, "abort durable", c.Logged(effs[0].(Persist).Rec),
		"answer B ABORT TX9", "answer B ABORT TX9", "answer client RESULT#5 TX9 ABORTED", "persist lazy END TX9")
	wantKinds(t, "a late YES is answered", c.Vote(part("B"), vote("TX9", "B", true)), "answer B ABORT TX9")
	wantKinds(t, "a late NO needs nothing", c.Vote(part("B"), vote("TX9", "B", false)))
}

func TestCoordinatorQueryWhileRunning(t *testing.T) {
	c, _ := newNode(t, 10)
	c.Start(From{Conn: client}, startReq("TX1", 1), bc)
	q := &wire.Query{TxID: "TX1", From: "B"}
	wantKinds(t, "voting: alive", c.Query(part("B"), q), "answer B QUERY-REPLY TX1 INIT")
	c.Vote(part("B"), vote("TX1", "B", true))
	effs := c.Vote(part("C"), vote("TX1", "C", true))
	rec := decision(t, effs)
	wantKinds(t, "logging: alive, no outcome", c.Query(part("B"), q), "answer B QUERY-REPLY TX1 INIT")
	c.Logged(rec)
	wantKinds(t, "phase two: the decision on both connections", c.Query(part("B"), q),
		"answer B COMMIT TX1", "send B COMMIT TX1")
}

func TestCoordinatorResends(t *testing.T) {
	c, clk := newNode(t, 10)
	effs := c.Start(From{Conn: client}, startReq("TX1", 1), bc)
	resend := effs[2].(SetTimer)
	c.Vote(part("C"), vote("TX1", "C", true))
	clk.advance(250 * time.Millisecond)
	effs = c.Timer(resend)
	wantKinds(t, "resend", effs, "send B PREPARE TX1", "resend-timer TX1 #2")
	if s := effs[0].(Send); s.TxID != "TX1" || !s.Since.Equal(clk.now.Add(-250*time.Millisecond)) {
		t.Fatalf("resend %+v", s)
	}
	wantKinds(t, "a stale resend timer", c.Timer(resend))
	wantKinds(t, "B unreachable", c.Unreachable("TX1", "B", "connection refused"), "persist forced DECISION TX1")
	wantKinds(t, "nothing pending for C after its vote", c.Timer(effs[1].(SetTimer)), "send B PREPARE TX1", "resend-timer TX1 #3")
}

func TestCoordinatorLateTimer(t *testing.T) {
	c, clk := newNode(t, 10)
	effs := c.Start(From{Conn: client}, startReq("TX1", 1), bc)
	vt := effs[4].(SetTimer)
	clk.advance(vt.After + vt.After/2 + time.Millisecond) // paused: fires half an interval late
	effs = c.Timer(vt)
	wantKinds(t, "late: set again", effs, "timer TX1 #1")
	clk.advance(vt.After)
	wantKinds(t, "on time: vote timeout", c.Timer(effs[0].(SetTimer)), "persist forced DECISION TX1")
}

func TestCoordinatorWindow(t *testing.T) {
	c, _ := newNode(t, 4)
	for i := range 10 {
		committed(t, c, fmt.Sprintf("T%d", i), uint64(i))
	}
	if c.Txn("T0") != nil || c.Txn("T9") == nil {
		t.Fatalf("window: T0 %v, T9 %v", c.Txn("T0") != nil, c.Txn("T9") != nil)
	}
	st := c.Status(3)
	if len(st.Txns) != 3 || st.Txns[2].TxID != "T9" || st.Committed != 10 {
		t.Fatalf("status %+v", st)
	}
	wantKinds(t, "a forgotten id runs anew", c.Start(From{Conn: client}, startReq("T0", 99), bc)[:1],
		"persist lazy BEGIN T0")
}

func TestCoordinatorBusyAndDraining(t *testing.T) {
	c, _ := newNode(t, 10)
	for i := range 3 {
		c.Start(From{Conn: client}, startReq(fmt.Sprintf("T%d", i), 1), bc)
	}
	wantKinds(t, "busy", c.Start(From{Conn: client}, startReq("T3", 4), bc), "answer client ERROR#4 busy")
	c.Drain()
	wantKinds(t, "draining", c.Start(From{Conn: client}, startReq("T4", 5), bc), "answer client ERROR#5 shutdown")
	wantKinds(t, "bad id", c.Start(From{Conn: client}, startReq("bad id", 6), bc), "answer client ERROR#6 bad_request")
	if c.Undecided() != 3 {
		t.Fatalf("undecided %d", c.Undecided())
	}
}

func TestCoordinatorAliasedMember(t *testing.T) {
	c, _ := newNode(t, 10)
	// B was configured by address alone and not yet reached: the
	// transaction names it by its address; its vote carries its id.
	cluster := []wire.Member{{ID: "b:1", Addr: "b:1"}}
	c.Start(From{Conn: client}, startReq("TX1", 1), cluster)
	from := From{Conn: "conn-B", Node: "B", Alias: "b:1"}
	wantKinds(t, "vote under its id", c.Vote(from, vote("TX1", "B", true)), "persist forced DECISION TX1")
}

func TestCoordinatorRecover(t *testing.T) {
	c, _ := newNode(t, 10)
	c.Recover(LoggedTx{ID: "OLD", Protocol: wire.TwoPC, Members: bc, Decided: true, Commit: true, Ended: true})
	c.Recover(LoggedTx{ID: "MID", Protocol: wire.TwoPC, Members: bc, Decided: true, Commit: true})
	c.Recover(LoggedTx{ID: "NEW", Protocol: wire.TwoPC, Members: bc})
	effs := c.Recovered()
	wantKinds(t, "recovered", effs, "send B COMMIT MID", "resend-timer MID #1", "send C COMMIT MID",
		"persist forced DECISION NEW")
	wantKinds(t, "retry of an ended id", c.Start(From{Conn: client}, startReq("OLD", 1), bc),
		"answer client RESULT#1 OLD COMMITTED")
	wantKinds(t, "retry of a decided id", c.Start(From{Conn: client}, startReq("MID", 2), bc),
		"answer client RESULT#2 MID COMMITTED")
	wantKinds(t, "retry of an undecided id waits", c.Start(From{Conn: client}, startReq("NEW", 3), bc))
	wantKinds(t, "its abort durable", c.Logged(decision(t, effs)), "send B ABORT NEW",
		"resend-timer NEW #1", "send C ABORT NEW", "reply NEW ABORTED", "answer client RESULT#3 NEW ABORTED")
	if c.Running() != 2 || c.Undecided() != 0 {
		t.Fatalf("running %d undecided %d", c.Running(), c.Undecided())
	}
}

func TestCoordinatorContradiction(t *testing.T) {
	c, _ := newNode(t, 10)
	c.Start(From{Conn: client}, startReq("TX1", 1), bc)
	c.Vote(part("B"), vote("TX1", "B", true))
	c.Logged(decision(t, c.Vote(part("C"), vote("TX1", "C", true))))
	a := ackOf("TX1", "B", wire.StateAborted)
	a.Heuristic = true
	wantKinds(t, "B resolved against", c.Ack(part("B"), a), "contradiction TX1 B ABORTED")
}

// Coordinators sharing an Inflight (one host's shards) are bounded together:
// the host's --max-inflight is for the node, however ids hash. A finished
// transaction makes room again, on any of them.
func TestCoordinatorsShareInflight(t *testing.T) {
	shared := NewInflight(2)
	cfg := CoordinatorConfig{
		CoordConfig: CoordConfig{NodeID: coordID, Addr: coordAddr, Vote: voteAfter},
		Retry:       250 * time.Millisecond, Keep: 10, Inflight: shared,
	}
	a, b := NewCoordinator(cfg), NewCoordinator(cfg)
	a.Start(From{Conn: client}, startReq("T1", 1), bc)
	b.Start(From{Conn: client}, startReq("T2", 2), bc)
	wantKinds(t, "third, on either", a.Start(From{Conn: client}, startReq("T3", 3), bc), "answer client ERROR#3 busy")
	if shared.Running() != 2 || a.Running() != 1 || b.Running() != 1 {
		t.Fatalf("shared %d, a %d, b %d running", shared.Running(), a.Running(), b.Running())
	}
	b.Vote(part("B"), vote("T2", "B", true))
	b.Logged(decision(t, b.Vote(part("C"), vote("T2", "C", true))))
	b.Ack(part("B"), ackOf("T2", "B", wire.StateCommitted))
	b.Ack(part("C"), ackOf("T2", "C", wire.StateCommitted))
	if shared.Running() != 1 {
		t.Fatalf("shared %d running after T2 finished", shared.Running())
	}
	if effs := a.Start(From{Conn: client}, startReq("T3", 4), bc); len(effs) == 0 || kinds(effs)[0] == "answer client ERROR#4 busy" {
		t.Fatalf("T3 after T2 finished: %q", kinds(effs))
	}
}
