package actors

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// countSender counts what it is asked to send; fail makes every send fail.
type countSender struct {
	n    atomic.Int32
	fail bool
}

func (c *countSender) Send(wire.Message) error {
	if c.fail {
		return errors.New("connection closed")
	}
	c.n.Add(1)
	return nil
}

// Withdraw and the flusher's delivery race; exactly one wins, and a
// withdrawn rider is never sent, not even in part.
func TestDurableSendsWithdrawOrDeliver(t *testing.T) {
	var sent, withdrawn int
	for range 2000 {
		var c countSender
		d := &durableSends{out: []routed{{via: &c, to: "TC", msg: &wire.Vote{TxID: "T", Yes: true}},
			{via: &c, to: "TC", msg: &wire.Vote{TxID: "T", Yes: true}}}}
		var ok bool
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); d.deliver() }()
		go func() { defer wg.Done(); ok = d.withdraw() }()
		wg.Wait()
		switch {
		case ok && c.n.Load() == 0 && !d.sent():
			withdrawn++
		case !ok && c.n.Load() == 2 && d.sent():
			sent++
		default:
			t.Fatalf("withdraw=%v, %d of 2 sent, sent()=%v", ok, c.n.Load(), d.sent())
		}
	}
	t.Logf("sent %d, withdrawn %d", sent, withdrawn)
}

// A message the flusher could not send, or had no route for, is left to
// the actor; a client's reply is not (a client that went away asks again).
func TestDurableSendsLeftovers(t *testing.T) {
	down := &countSender{fail: true}
	vote := protocol.Send{To: "TC", Msg: &wire.Vote{TxID: "T", Yes: true}}
	late := protocol.Send{To: "C", Addr: "c:1", Msg: &wire.Ack{TxID: "T"}}
	d := &durableSends{
		out: []routed{{via: down, to: "TC", msg: vote.Msg, orig: vote},
			{via: down, to: "client", msg: &wire.StartResult{TxID: "T"}}},
		late: []protocol.Send{late},
	}
	d.deliver()
	left := d.leftovers()
	if len(left) != 2 || left[0].To != "C" || left[1].To != "TC" {
		t.Fatalf("leftovers %+v", left)
	}
}

// The vote leaves from the flusher, so the coordinator's next message can
// reach a participant before the participant's own actor has heard that
// PREPARED (or PRECOMMIT) is durable. The participant must not drop it as
// "impossible": with retransmission after a minute, a dropped PRE-COMMIT
// or COMMIT would stall the transaction here. (Without the holding in
// participantActor.handle, most 3PC transactions stalled.)
func TestAnswersToRidersAreNotLost(t *testing.T) {
	dir := t.TempDir()
	fatal := func(err error) { t.Errorf("node stopped: %v", err) }
	var addrs, partAddrs []string
	for _, id := range []string{"B", "C"} {
		p, err := StartParticipant(ParticipantConfig{NodeID: id, Listen: "127.0.0.1:0",
			WAL: filepath.Join(dir, id+".wal"), Timeout: time.Minute, Logger: quietLogger(), Fatal: fatal})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		addrs = append(addrs, id+"="+p.Addr())
		partAddrs = append(partAddrs, p.Addr())
	}
	c, err := StartCoordinator(CoordinatorConfig{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: addrs,
		WAL: filepath.Join(dir, "coord.wal"), Timeout: time.Minute, Retry: time.Minute,
		Logger: quietLogger(), Fatal: fatal})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := wire.DialClient(context.Background(), c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	waitFor(t, 5*time.Second, func() bool {
		st, err := cl.Status(context.Background())
		return err == nil && len(st.Participants) == 2 && st.Participants[0].Connected && st.Participants[1].Connected
	})
	for i := range 60 {
		proto := wire.TwoPC
		if i%2 == 1 {
			proto = wire.ThreePC
		}
		id := fmt.Sprintf("T%d", i)
		// Far longer than a commit takes, far shorter than the minute a
		// lost message costs.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := cl.Start(ctx, id, proto, []wire.Op{{Kind: wire.OpSet, Key: "k" + id, Value: "v"}})
		cancel()
		if err != nil {
			t.Fatalf("%s (%s): %v: a message answering a vote or ack was lost", id, proto, err)
		}
		if res.Outcome != wire.StateCommitted {
			t.Fatalf("%s: %s (%s)", id, res.Outcome, res.Reason)
		}
	}
	// And phase two reached both participants without a retransmission
	// (a 2PC COMMIT dropped there stalls only the participant).
	for _, addr := range partAddrs {
		deadline := time.Now().Add(20 * time.Second)
		for {
			pc, err := wire.DialClient(context.Background(), addr)
			if err != nil {
				t.Fatal(err)
			}
			st, err := pc.Status(context.Background())
			pc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Store) == 60 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("participant %s applied %d of 60 commits: a COMMIT answering its vote was lost", st.NodeID, len(st.Store))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
