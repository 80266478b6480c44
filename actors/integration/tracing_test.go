package integration

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

func (tc *testCluster) trace(t *testing.T, addr, txid string) *wire.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cl, err := transport.DialClient(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tr, err := cl.Trace(ctx, txid)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// find returns the index of the first event matching kind, what and peer.
func find(tr *wire.Trace, kind, what, peer string) int {
	for i, e := range tr.Events {
		if e.Kind == kind && e.What == what && e.Peer == peer {
			return i
		}
	}
	return -1
}

// Every node records its side of a committed transaction, records are
// timed when they became durable, and what depends on a record is sent
// after it (persist before send) — visible in the trace's times. After a
// restart the participant still shows its records, from the log, at the
// times they were written.
func TestTraceOfCommittedTransaction(t *testing.T) {
	tc := startTestCluster(t, "B", "C")
	ctx := context.Background()
	cl, err := transport.DialClient(ctx, tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := cl.Start(ctx, "TX1", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}})
	if err != nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("TX1: %v %v", res, err)
	}
	// END and the participants' COMMIT come after the answer.
	var coord *wire.Trace
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		coord = tc.trace(t, tc.coord.Addr(), "TX1")
		return find(coord, wire.TraceLog, "END", "") >= 0
	})
	if coord.NodeID != "COORD" || coord.Role != wire.RoleCoordinator || coord.Protocol != wire.TwoPC || coord.TxID != "TX1" {
		t.Fatalf("coordinator trace header: %+v", coord)
	}
	at := func(tr *wire.Trace, kind, what, peer string) int64 {
		t.Helper()
		i := find(tr, kind, what, peer)
		if i < 0 {
			t.Fatalf("%s: no %s %s %s in %+v", tr.NodeID, kind, what, peer, tr.Events)
		}
		return tr.Events[i].Time
	}
	start := at(coord, wire.TraceRecv, "START", "client")
	at(coord, wire.TraceLog, "BEGIN", "")
	prepB := at(coord, wire.TraceSend, "PREPARE", "B")
	at(coord, wire.TraceSend, "PREPARE", "C")
	voteB := at(coord, wire.TraceRecv, "VOTE YES", "B")
	at(coord, wire.TraceRecv, "VOTE YES", "C")
	decision := at(coord, wire.TraceForce, "DECISION", "")
	commitB := at(coord, wire.TraceSend, "COMMIT", "B")
	result := at(coord, wire.TraceSend, "RESULT COMMITTED", "client")
	at(coord, wire.TraceRecv, "ACK COMMITTED", "C")
	if !(start <= prepB && prepB <= voteB && voteB <= decision && decision <= commitB && decision <= result) {
		t.Fatalf("coordinator events out of order (start %d prepare %d vote %d decision %d commit %d result %d)",
			start, prepB, voteB, decision, commitB, result)
	}

	var b *wire.Trace
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		b = tc.trace(t, tc.parts[0].Addr(), "TX1")
		return find(b, wire.TraceForce, "COMMIT", "") >= 0 && find(b, wire.TraceSend, "ACK COMMITTED", "COORD") >= 0
	})
	prepared := at(b, wire.TraceForce, "PREPARED", "")
	if recv, vote := at(b, wire.TraceRecv, "PREPARE", "COORD"), at(b, wire.TraceSend, "VOTE YES", "COORD"); !(recv <= prepared && prepared <= vote) {
		t.Fatalf("B: PREPARE received %d, PREPARED forced %d, vote sent %d: the vote must follow the force", recv, prepared, vote)
	}
	committed := at(b, wire.TraceForce, "COMMIT", "")
	if ack := at(b, wire.TraceSend, "ACK COMMITTED", "COORD"); ack < committed {
		t.Fatalf("B acked at %d before COMMIT was durable at %d", ack, committed)
	}
	for _, e := range b.Events {
		if e.FromLog {
			t.Fatalf("a live event marked as from the log: %+v", e)
		}
	}

	// Restart B on its log: the records are back, marked, at their append
	// times (at or before the times they became durable).
	p := tc.parts[0]
	p.Close()
	p2, err := participant.Start(participant.Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: filepath.Join(tc.dir, "B.wal"),
		Logger: nodetest.QuietLogger(), Fatal: func(err error) { t.Errorf("B stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	tc.parts[0] = p2
	b2 := tc.trace(t, p2.Addr(), "TX1")
	if b2.Since <= committed {
		t.Fatalf("restarted B says it began recording at %d, before TX1's COMMIT at %d", b2.Since, committed)
	}
	var got []string
	for _, e := range b2.Events {
		if !e.FromLog {
			continue
		}
		got = append(got, e.Kind+" "+e.What)
		if e.Time <= start || e.Time > committed {
			t.Errorf("replayed %s has time %d, outside TX1's lifetime %d..%d", e.What, e.Time, start, committed)
		}
	}
	if len(got) < 2 || got[0] != "force PREPARED" || got[1] != "force COMMIT" {
		t.Fatalf("restarted B's trace of TX1 from its log: %v, want force PREPARED, force COMMIT (then FORGET)", got)
	}
	if b2.Protocol != wire.TwoPC {
		t.Fatalf("restarted B does not know TX1's protocol: %q", b2.Protocol)
	}

	// Unknown transactions have no events; bad ids are refused.
	if tr := tc.trace(t, tc.coord.Addr(), "NOPE"); len(tr.Events) != 0 || tr.NodeID != "COORD" {
		t.Fatalf("trace of an unknown transaction: %+v", tr)
	}
	ctx2, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = cl.Trace(ctx2, "")
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.ErrBadRequest {
		t.Fatalf("trace of an empty id: %v, want a bad_request error", err)
	}
}

// A NO vote: the participant sends VOTE NO with its reason and logs its
// ABORT lazily (nothing to force: it holds nothing); the coordinator forces
// an abort DECISION carrying the reason.
func TestTraceOfNoVote(t *testing.T) {
	tc := startTestCluster(t, "B")
	ctx := context.Background()
	cl, err := transport.DialClient(ctx, tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := cl.Start(ctx, "TX2", wire.TwoPC, []wire.Op{{Kind: wire.OpAdd, Key: "balance", Delta: -5}})
	if err != nil || res.Outcome != wire.StateAborted {
		t.Fatalf("TX2: %v %v", res, err)
	}
	var b *wire.Trace
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		b = tc.trace(t, tc.parts[0].Addr(), "TX2")
		return find(b, wire.TraceLog, "ABORT", "") >= 0
	})
	i := find(b, wire.TraceSend, "VOTE NO", "COORD")
	if i < 0 || b.Events[i].Detail == "" {
		t.Fatalf("B's trace has no VOTE NO with a reason: %+v", b.Events)
	}
	if find(b, wire.TraceForce, "PREPARED", "") >= 0 {
		t.Fatalf("B forced PREPARED for a transaction it voted NO on: %+v", b.Events)
	}
	coord := tc.trace(t, tc.coord.Addr(), "TX2")
	j := find(coord, wire.TraceForce, "DECISION", "")
	if j < 0 || coord.Events[j].Detail == "" {
		t.Fatalf("coordinator trace has no abort DECISION with its reason: %+v", coord.Events)
	}
}

// 3PC adds PRE-COMMIT: the coordinator's BEGIN is forced before it sends
// it (its PRECOMMIT record is lazy), the participant forces its PRECOMMIT
// before acknowledging.
func TestTraceOf3PC(t *testing.T) {
	tc := startTestCluster(t, "B")
	ctx := context.Background()
	cl, err := transport.DialClient(ctx, tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := cl.Start(ctx, "T3", wire.ThreePC, []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}})
	if err != nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("T3: %v %v", res, err)
	}
	var b *wire.Trace
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		b = tc.trace(t, tc.parts[0].Addr(), "T3")
		return find(b, wire.TraceForce, "COMMIT", "") >= 0
	})
	coord := tc.trace(t, tc.coord.Addr(), "T3")
	begin, send := find(coord, wire.TraceForce, "BEGIN", ""), find(coord, wire.TraceSend, "PRE-COMMIT", "B")
	if begin < 0 || send < 0 || coord.Events[send].Time < coord.Events[begin].Time || coord.Protocol != wire.ThreePC {
		t.Fatalf("coordinator: BEGIN forced at %d, PRE-COMMIT sent at %d: %+v", begin, send, coord.Events)
	}
	if find(coord, wire.TraceLog, "PRECOMMIT", "") < 0 {
		t.Fatalf("coordinator: no PRECOMMIT record: %+v", coord.Events)
	}
	recv, forced, ack := find(b, wire.TraceRecv, "PRE-COMMIT", "COORD"), find(b, wire.TraceForce, "PRECOMMIT", ""), find(b, wire.TraceSend, "ACK PRECOMMITTED", "COORD")
	if recv < 0 || forced < 0 || ack < 0 || b.Events[ack].Time < b.Events[forced].Time {
		t.Fatalf("B: PRE-COMMIT received %d, PRECOMMIT forced %d, acked %d: %+v", recv, forced, ack, b.Events)
	}
}
