package transport

import (
	"testing"

	"github.com/txd/txd/wire"
)

// A node's MsgCounts sees every message its connections queue and receive,
// by type; the handshake is not a message of the protocol and is not
// counted.
func TestMsgCounts(t *testing.T) {
	counts := &MsgCounts{}
	s := serve(t, ServerConfig{Handler: &coordinator{}, Stats: &Stats{Msgs: counts}})
	cl := dialClient(t, s)
	for range 3 {
		if _, err := cl.Start(ctxT(t), "tx-1", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "a", Value: "1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.Status(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	want := map[wire.Type][2]int64{ // sent, received
		wire.TypeStart: {0, 3}, wire.TypeStartResult: {3, 0}, wire.TypeStatusReq: {0, 1}, wire.TypeStatus: {1, 0},
	}
	// A reply is counted just after it is handed to the socket, so the
	// client can read it a moment before the server has counted it.
	eventually(t, func() bool { return counts.Sent(wire.TypeStatus) == 1 }, "the Status reply counted")
	for _, typ := range wire.Types() {
		w := want[typ]
		if got := [2]int64{counts.Sent(typ), counts.Received(typ)}; got != w {
			t.Errorf("%s: sent, received = %v, want %v", typ, got, w)
		}
	}
	if counts.Sent(0) != 0 || counts.Received(wire.TypeLimit) != 0 {
		t.Error("an invalid type has a count")
	}
}
