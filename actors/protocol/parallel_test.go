package protocol

import (
	"strconv"
	"testing"

	"github.com/txd/txd/wire"
)

// PARALLEL, one machine at a time: coordparallel.go and
// participant_parallel.go.

func newParallelCoord(t *testing.T, ids ...string) *CoordTxn {
	t.Helper()
	c := newCoord(t, 0, ids...)
	c.protocol = wire.Parallel
	return c
}

func parallelPrepare(tx string, o ...wire.Op) *wire.Prepare {
	m := prepareMsg(tx, o...)
	m.Protocol = wire.Parallel
	return m
}

// The last YES answers the client at once: the DECISION is lazy, COMMIT
// goes out, and nothing is forced.
func TestParallelCoordCommitsOnLastYes(t *testing.T) {
	c := newParallelCoord(t, "B", "C")
	wantKinds(t, "Start", c.Start(), "persist lazy BEGIN TX1", "send B PREPARE TX1", "send C PREPARE TX1", "timer TX1 #1")
	if effs := c.Vote(yes("B")); len(effs) != 0 {
		t.Fatalf("first YES: %q", kinds(effs))
	}
	wantKinds(t, "last YES", c.Vote(yes("C")),
		"persist lazy DECISION TX1", "send B COMMIT TX1", "send C COMMIT TX1", "reply TX1 COMMITTED")
	wantKinds(t, "ack B", c.Ack(ack("B", wire.StateCommitted)))
	wantKinds(t, "ack C", c.Ack(ack("C", wire.StateCommitted)), "persist forced END TX1", "finished TX1")
}

// A NO aborts at once too: the participant forced it before voting.
func TestParallelCoordAbortsOnNo(t *testing.T) {
	c := newParallelCoord(t, "B", "C")
	c.Start()
	c.Vote(yes("B"))
	wantKinds(t, "NO", c.Vote(no("C", "key k is locked")),
		"persist lazy DECISION TX1", "send B ABORT TX1", "reply TX1 ABORTED")
}

// Silence is never a NO: the vote timer asks the silent member, again and
// again, and an unreachable member is waited for. Its durable YES, when it
// answers, commits.
func TestParallelCoordAsksTheSilent(t *testing.T) {
	c := newParallelCoord(t, "B", "C")
	c.Start()
	c.Vote(yes("B"))
	if effs := c.Unreachable("C", "connection refused"); len(effs) != 0 {
		t.Fatalf("Unreachable: %q", kinds(effs))
	}
	for seq := uint64(1); seq <= 3; seq++ {
		effs := c.Timer(seq)
		wantKinds(t, "vote timer", effs, "send C QUERY TX1", "timer TX1 #"+strconv.FormatUint(seq+1, 10))
		if q := sends(effs)[0].Msg.(*wire.Query); q.Protocol != wire.Parallel || q.From != coordID {
			t.Fatalf("query %+v", q)
		}
	}
	wantKinds(t, "C READY", c.QueryReply(&wire.QueryReply{TxID: "TX1", From: "C", State: wire.StateReady}),
		"persist lazy DECISION TX1", "send B COMMIT TX1", "send C COMMIT TX1", "reply TX1 COMMITTED")
}

// A member that refused aborts it; one that says it committed (the
// members finished without the coordinator) commits it.
func TestParallelCoordLearnsFromAnswers(t *testing.T) {
	c := newParallelCoord(t, "B", "C")
	c.Start()
	c.Timer(1)
	wantKinds(t, "C refused", c.QueryReply(&wire.QueryReply{TxID: "TX1", From: "C", State: wire.StateAborted}),
		"persist lazy DECISION TX1", "send B ABORT TX1", "reply TX1 ABORTED", "persist forced END TX1", "finished TX1")

	c = newParallelCoord(t, "B", "C")
	c.Start()
	wantKinds(t, "B knows COMMITTED", c.Vote(&wire.Vote{TxID: "TX1", From: "B", Reason: "already committed", Known: wire.StateCommitted}),
		"persist lazy DECISION TX1", "send B COMMIT TX1", "send C COMMIT TX1", "reply TX1 COMMITTED")
}

// Restarted without the (lazy) DECISION: ask every member, decide by the
// same rule, never by a timeout.
func TestParallelCoordRecovers(t *testing.T) {
	ms := []wire.Member{{ID: "B", Addr: addrOf("B")}, {ID: "C", Addr: addrOf("C")}}
	c := RecoverCoordTxn(CoordConfig{NodeID: coordID, Vote: voteAfter}, "TX1", wire.Parallel, ms, false, false, "")
	wantKinds(t, "Start", c.Start(), "send B QUERY TX1", "send C QUERY TX1", "timer TX1 #1")
	c.QueryReply(&wire.QueryReply{TxID: "TX1", From: "B", State: wire.StateReady})
	wantKinds(t, "timer", c.Timer(1), "send C QUERY TX1", "timer TX1 #2")
	wantKinds(t, "C READY", c.QueryReply(&wire.QueryReply{TxID: "TX1", From: "C", State: wire.StateReady}),
		"persist lazy DECISION TX1", "send B COMMIT TX1", "send C COMMIT TX1", "reply TX1 COMMITTED")
}

// A coordinator with no record of the id answers a PARALLEL participant
// "unknown" and logs nothing: no presumed abort.
func TestParallelCoordinatorNeverPresumes(t *testing.T) {
	c := NewCoordinator(CoordinatorConfig{CoordConfig: CoordConfig{NodeID: coordID}})
	from := From{Conn: "conn-B", Node: "B"}
	for _, effs := range [][]Effect{
		c.Query(from, &wire.Query{TxID: "TX9", From: "B", Protocol: wire.Parallel}),
		c.Vote(from, &wire.Vote{TxID: "TX9", From: "B", Yes: true, Protocol: wire.Parallel}),
	} {
		wantKinds(t, "unknown PARALLEL id", effs, "answer B QUERY-REPLY TX9 ")
	}
	if c.Txn("TX9") != nil {
		t.Fatal("the coordinator remembers TX9")
	}
	wantKinds(t, "unknown 2PC id", c.Query(from, &wire.Query{TxID: "TX8", From: "B"}), "persist forced DECISION TX8")
}

// A NO is forced before it is sent; a later PREPARE gets NO again.
func TestParallelPartNoIsDurable(t *testing.T) {
	p := newPart(t, map[string]string{"k": "v"})
	effs := p.Prepare(parallelPrepare("TX1", add("k", 1)))
	wantKinds(t, "Prepare", effs, "persist forced ABORT TX1")
	wantKinds(t, "Logged(ABORT)", p.Logged(effs[0].(Persist).Rec), `send TC VOTE-NO TX1 (ADD k: value "v" is not an integer)`)
	if v := sends(p.Prepare(parallelPrepare("TX1", add("k", 1))))[0].Msg.(*wire.Vote); v.Yes {
		t.Fatal("YES after a NO")
	}
}

// In doubt, it asks the coordinator and every other member; every member
// READY commits it, and it tells them. READY answers count across rounds.
func TestParallelPartAllYesCommits(t *testing.T) {
	p := NewParticipant(ParticipantConfig{NodeID: "B", Timeout: askAfter})
	m := parallelPrepare("TX1", set("k", "v"))
	m.Members = append(m.Members, wire.Member{ID: "D", Addr: addrOf("D")})
	effs := p.Prepare(m)
	wantKinds(t, "Logged(PREPARED)", p.Logged(effs[0].(Persist).Rec), "send TC VOTE-YES TX1", "timer TX1 #1")
	effs = p.Timer("TX1", 1)
	wantKinds(t, "tick", effs, "send TC QUERY TX1", "send C QUERY TX1", "send D QUERY TX1", "timer TX1 #2")
	for _, s := range sends(effs) {
		if s.Msg.(*wire.Query).Protocol != wire.Parallel {
			t.Fatalf("query without PARALLEL: %+v", s.Msg)
		}
	}
	if effs := p.QueryReply(&wire.QueryReply{TxID: "TX1", From: "C", State: wire.StateReady}); len(effs) != 0 {
		t.Fatalf("C READY: %q", kinds(effs))
	}
	wantKinds(t, "second tick", p.Timer("TX1", 2), "send TC QUERY TX1", "send D QUERY TX1", "timer TX1 #3")
	effs = p.QueryReply(&wire.QueryReply{TxID: "TX1", From: "D", State: wire.StateReady})
	wantKinds(t, "D READY", effs, "persist forced COMMIT TX1")
	wantKinds(t, "Logged(COMMIT)", p.Logged(effs[0].(Persist).Rec),
		"send TC ACK TX1 COMMITTED", "send C COMMIT TX1", "send D COMMIT TX1")
}

// A member's Decision is taken at any time in PARALLEL: it can only
// repeat what the votes fixed.
func TestParallelPartTakesAMembersDecision(t *testing.T) {
	p := NewParticipant(ParticipantConfig{NodeID: "B", Timeout: askAfter})
	effs := p.Prepare(parallelPrepare("TX1", set("k", "v")))
	p.Logged(effs[0].(Persist).Rec)
	wantKinds(t, "C's COMMIT", p.PeerDecision("C", &wire.Decision{TxID: "TX1", Commit: true}), "persist forced COMMIT TX1")
}
