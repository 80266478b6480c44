package protocol

import (
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

// An id is an idempotency key: a retry of the same request gets the first
// run's outcome; the same id with other operations or another protocol is
// refused with id_reused, while running and once finished, and runs
// nothing.
func TestCoordinatorReusedIDIsRefused(t *testing.T) {
	c, _ := newNode(t, 10)
	c.Start(From{Conn: client}, startReq("TX1", 1), bc)
	other := func(reqID uint64) *wire.Start {
		r := startReq("TX1", reqID)
		r.Ops = ops(set("k", "w"))
		return r
	}
	three := startReq("TX1", 3)
	three.Protocol = wire.ThreePC
	for _, req := range []*wire.Start{other(2), three} {
		effs := c.Start(From{Conn: client}, req, bc)
		if len(effs) != 1 {
			t.Fatalf("reused id while running: %q", kinds(effs))
		}
		e, ok := effs[0].(Answer).Msg.(*wire.Error)
		if !ok || e.Code != wire.ErrIDReused || e.ReqID != req.ReqID || !strings.Contains(e.Msg, "already used for other operations") {
			t.Fatalf("reused id while running: %+v", effs[0])
		}
	}
	wantKinds(t, "the same request again waits", c.Start(From{Conn: client}, startReq("TX1", 4), bc))

	committed(t, c, "TX2", 5)
	wantKinds(t, "finished: the same request gets the outcome", c.Start(From{Conn: client}, startReq("TX2", 6), bc),
		"answer client RESULT#6 TX2 COMMITTED")
	r := startReq("TX2", 7)
	r.Ops = ops(set("k", "v"), set("k2", "v"))
	if e, ok := c.Start(From{Conn: client}, r, bc)[0].(Answer).Msg.(*wire.Error); !ok || e.Code != wire.ErrIDReused {
		t.Fatalf("finished, reused: %+v", e)
	}
	if opsDigest(wire.TwoPC, ops(set("ab", "c"))) == opsDigest(wire.TwoPC, ops(set("a", "bc"))) {
		t.Error("the digest runs fields together")
	}
}
