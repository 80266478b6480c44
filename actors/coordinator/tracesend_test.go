package coordinator

import (
	"testing"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/wire"
)

// tracedConn is a connection that checks, as each message leaves, that
// the node has already recorded sending it.
type tracedConn struct {
	t    *testing.T
	ring *trace.Ring
	sent int
}

func (c *tracedConn) Send(m wire.Message) error {
	txid, what, _, _ := trace.Label(m)
	if !c.ring.Has(txid, trace.Send, what) {
		c.t.Errorf("%s of %s left before its send was recorded", what, txid)
	}
	c.sent++
	return nil
}

// An answer (a participant's decision, a client's result) is recorded as
// sent before it leaves: the receiver, on the same clock, may record its
// receipt at once, and a send stamped after that would read as a receipt
// before its send (`txcli trace`).
func TestAnswerTracedBeforeSent(t *testing.T) {
	ring := trace.New(10, 1)
	s := &shard{host: &host{trace: ring}}
	conn := &tracedConn{t: t, ring: ring}
	s.run([]protocol.Effect{
		protocol.Answer{To: conn, Peer: "B", Msg: &wire.Decision{TxID: "T1", Commit: true}},
		protocol.Answer{To: conn, Peer: "client", Msg: &wire.StartResult{TxID: "T2", Outcome: wire.StateAborted}},
	})
	if conn.sent != 2 {
		t.Fatalf("%d answers sent, want 2", conn.sent)
	}
}
