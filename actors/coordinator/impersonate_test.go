package coordinator

import (
	"net"
	"testing"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// prepared is a PREPARE a fake participant got, with the connection it
// came on (the participant answers on it).
type prepared struct {
	conn *transport.Conn
	msg  *wire.Prepare
}

type prepareHandler chan prepared

func (h prepareHandler) HandleMessage(c *transport.Conn, m wire.Message) {
	if p, ok := m.(*wire.Prepare); ok {
		h <- prepared{c, p}
	}
}
func (h prepareHandler) HandleClose(*transport.Conn, error) {}

// A participant speaks for itself only: C's YES in B's name is ignored,
// so T1, which B never votes on, aborts on the vote timeout. B, configured
// by address alone, still votes for itself under the id its handshake
// told (T2 commits).
func TestParticipantCannotVoteForAnother(t *testing.T) {
	fake := func(id string) (string, prepareHandler) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		h := make(prepareHandler, 16)
		s := transport.NewServer(ln, transport.ServerConfig{Self: wire.HelloAck{NodeID: id, Role: wire.RoleParticipant}, Handler: h})
		go s.Serve()
		t.Cleanup(func() { s.Close() })
		return ln.Addr().String(), h
	}
	addrB, prepB := fake("B")
	addrC, prepC := fake("C")
	_, cl, ctx := startWithClient(t, 20*time.Second, addrB, "C="+addrC)

	run := func(tx string) <-chan *wire.StartResult {
		done := make(chan *wire.StartResult, 1)
		go func() {
			res, err := cl.Start(ctx, tx, wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}})
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		return done
	}
	waitPrepare := func(h prepareHandler, tx string) *transport.Conn {
		for {
			select {
			case p := <-h:
				if p.msg.TxID == tx {
					return p.conn
				}
			case <-ctx.Done():
				t.Fatalf("no PREPARE for %s", tx)
			}
		}
	}
	send := func(conn *transport.Conn, m wire.Message) {
		if err := conn.Send(m); err != nil {
			t.Fatal(err)
		}
	}

	done := run("T1")
	waitPrepare(prepB, "T1")
	connC := waitPrepare(prepC, "T1")
	send(connC, &wire.Vote{TxID: "T1", From: "B", Yes: true})
	send(connC, &wire.Vote{TxID: "T1", From: "C", Yes: true})
	if res := <-done; res == nil || res.Outcome != wire.StateAborted {
		t.Fatalf("T1: %+v, want ABORTED (no vote from B)", res)
	}

	done = run("T2")
	connB := waitPrepare(prepB, "T2")
	connC = waitPrepare(prepC, "T2")
	send(connB, &wire.Vote{TxID: "T2", From: "B", Yes: true})
	send(connC, &wire.Vote{TxID: "T2", From: "C", Yes: true})
	if res := <-done; res == nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("T2: %+v, want COMMITTED", res)
	}
}
