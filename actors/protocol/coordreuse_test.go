package protocol

import (
	"github.com/vmihailenco/msgpack/v5"
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

// The request's digest is in BEGIN, so a coordinator that restarted (from
// its log, or from a checkpoint of it) still refuses a retry with other
// operations, for an ended, a decided and an undecided transaction alike;
// the same request still gets the outcome. A BEGIN from before the digest
// was logged accepts any retry.
func TestCoordinatorReusedIDAfterRestart(t *testing.T) {
	c, _ := newNode(t, 10)
	var recs []Record
	log := func(effs []Effect) []Effect {
		for _, p := range persists(effs) {
			recs = append(recs, p.Rec)
		}
		return effs
	}
	for _, tx := range []string{"ENDED", "DECIDED", "BEGUN"} {
		log(c.Start(From{Conn: client}, startReq(tx, 1), bc))
		if tx == "BEGUN" {
			break
		}
		log(c.Vote(part("B"), vote(tx, "B", true)))
		rec := decision(t, log(c.Vote(part("C"), vote(tx, "C", true))))
		log(c.Logged(rec))
		if tx == "ENDED" {
			log(c.Ack(part("B"), ackOf(tx, "B", wire.StateCommitted)))
			log(c.Ack(part("C"), ackOf(tx, "C", wire.StateCommitted)))
		}
	}
	recs = append(recs, Record{Kind: RecBegin, TxID: "OLDBEGIN", Protocol: wire.TwoPC, Members: bc})

	replay := func(recs []Record) *CoordLog {
		l := NewCoordLog(10)
		for _, r := range recs {
			p, err := msgpack.Marshal(&r)
			if err != nil {
				t.Fatal(err)
			}
			var back Record
			if err := msgpack.Unmarshal(p, &back); err != nil {
				t.Fatal(err)
			}
			back.Kind = r.Kind
			if err := l.Apply(back); err != nil {
				t.Fatal(err)
			}
		}
		return l
	}
	fromLog := replay(recs)
	for name, l := range map[string]*CoordLog{"log": fromLog, "checkpoint": replay(fromLog.Snapshot())} {
		c, _ := newNode(t, 10)
		for _, r := range l.All() {
			c.Recover(*r)
		}
		c.Recovered()
		for i, tx := range []string{"ENDED", "DECIDED", "BEGUN"} {
			other := startReq(tx, uint64(10+i))
			other.Ops = ops(set("k", "w"))
			effs := c.Start(From{Conn: client}, other, bc)
			if len(effs) != 1 {
				t.Fatalf("%s: %s retried with other operations: %q", name, tx, kinds(effs))
			}
			if e, ok := effs[0].(Answer).Msg.(*wire.Error); !ok || e.Code != wire.ErrIDReused {
				t.Fatalf("%s: %s retried with other operations: %+v", name, tx, effs[0])
			}
		}
		wantKinds(t, name+": the same request", c.Start(From{Conn: client}, startReq("ENDED", 20), bc),
			"answer client RESULT#20 ENDED COMMITTED")
		old := startReq("OLDBEGIN", 21)
		old.Ops = ops(set("k", "w"))
		for _, e := range c.Start(From{Conn: client}, old, bc) {
			if a, ok := e.(Answer); ok {
				if m, ok := a.Msg.(*wire.Error); ok && m.Code == wire.ErrIDReused {
					t.Fatalf("%s: a BEGIN without a digest refused a retry: %+v", name, m)
				}
			}
		}
	}
}
