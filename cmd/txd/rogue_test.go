package main

import (
	"context"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// 14. Participants started with --coordinator COORD: a second, rogue
// coordinator process (id EVIL) pointed at them cannot make them prepare or
// commit, and a raw connection posing as a participant cannot send them a
// PREPARE; the real coordinator still commits.
func TestRogueCoordinatorRefused(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	for _, p := range c.Parts {
		p.SetFlag("coordinator", "COORD")
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitConnected("B", "C")

	evil, err := cluster.NewNode(c.Bins, cluster.Coordinator, "EVIL", 0, c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	evil.SetFlag("participants", c.Part("B").Addr()+","+c.Part("C").Addr())
	evil.SetFlag("timeout", "1s")
	if err := evil.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := evil.Stop(); err != nil {
			t.Errorf("stopping EVIL: %v", err)
		}
	})
	out, r, err := c.Bins.StartTx(context.Background(), evil.Addr(), "R1", "2PC", "SET", "balance", "666")
	if err != nil {
		t.Fatal(err)
	}
	if out.Outcome == "COMMITTED" || r.Code == 0 {
		t.Fatalf("the rogue coordinator committed R1: %+v (exit %d)", out, r.Code)
	}
	t.Logf("rogue coordinator's transaction: exit %d, %+v", r.Code, out)

	// A raw connection claiming to be participant C sends B a PREPARE.
	rec := make(chan wire.Message, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, c.Part("B").Addr(), wire.Hello{NodeID: "C", Role: wire.RoleParticipant}, chanHandler(rec), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Send(&wire.Prepare{TxID: "R2", Protocol: wire.TwoPC, Coord: "C", //nolint:errcheck
		Members: []wire.Member{{ID: "B"}}, Ops: []wire.Op{{Kind: wire.OpSet, Key: "balance", Value: "666"}}})
	select {
	case m := <-rec:
		if e, ok := m.(*wire.Error); !ok || e.Code != wire.ErrForbidden {
			t.Fatalf("B answered a participant's PREPARE with %#v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("B did not refuse a PREPARE from a participant")
	}

	for _, id := range []string{"B", "C"} {
		st := c.MustPartStatus(id)
		if len(st.Store) != 0 || len(st.Transactions) != 0 {
			t.Errorf("%s obeyed a rogue: store %v, transactions %+v", id, st.Store, st.Transactions)
		}
		if len(c.Part(id).LogLines(`does not accept coordinator \"EVIL\"`)) == 0 {
			t.Errorf("%s did not log refusing EVIL:\n%s", id, c.Part(id).LogText())
		}
	}
	if len(c.Part("B").LogLines("refusing a message", "claimed_id=C", "type=Prepare")) == 0 {
		t.Errorf("B did not log refusing the PREPARE:\n%s", c.Part("B").LogText())
	}

	commit(t, c, "TX1", "SET", "balance", "1000")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 committed", all(inState("TX1", "COMMITTED"), hasValue("balance", "1000")))
	}
}

// chanHandler delivers a connection's messages to a channel.
type chanHandler chan wire.Message

func (h chanHandler) HandleMessage(_ *transport.Conn, m wire.Message) {
	select {
	case h <- m:
	default:
	}
}

func (chanHandler) HandleClose(*transport.Conn, error) {}
