package protocol

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

// TestOutcomeCostMeasured checks outcomeCost against the heap: n finished
// two-member transactions must hold no more than outcomeCost says (the
// estimate may be high, not low: the window's byte bound relies on it).
func TestOutcomeCostMeasured(t *testing.T) {
	const n = 20000
	c, _ := newNode(t, n)
	c.cfg.MaxInflight = n
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("tx-%06d", i)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, id := range ids {
		committedQuietly(c, id)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perTxn := int64(after.HeapAlloc-before.HeapAlloc) / n
	est := c.finishedBytes / int64(c.finished)
	t.Logf("heap %d bytes per finished transaction, estimated %d", perTxn, est)
	if c.finished != n || perTxn > est {
		t.Fatalf("%d finished; heap %d bytes each, outcomeCost says %d", c.finished, perTxn, est)
	}
	runtime.KeepAlive(c)
}

// committedQuietly runs tx to its end (as committed, without checks) and
// delivers the Forget lists, as a host would.
func committedQuietly(c *Coordinator, tx string) {
	c.Start(From{Conn: client}, &wire.Start{TxID: tx, Protocol: wire.TwoPC, Ops: ops(set("k", "v"))}, bc)
	c.Vote(part("B"), vote(tx, "B", true))
	for _, e := range c.Vote(part("C"), vote(tx, "C", true)) {
		if p, ok := e.(Persist); ok {
			c.Logged(p.Rec)
		}
	}
	c.Ack(part("B"), ackOf(tx, "B", wire.StateCommitted))
	c.Ack(part("C"), ackOf(tx, "C", wire.StateCommitted))
	c.Timer(SetTimer{Kind: TimerForget})
}

// The window is bounded in estimated bytes as well as in number: aborts
// with long reasons (cut to wire.MaxReasonLen) keep only what fits; a running transaction is never
// dropped.
func TestOutcomeWindowBytes(t *testing.T) {
	const limit = 256 << 10
	c, _ := newNode(t, 100000)
	c.cfg.KeepBytes, c.cfg.MaxInflight = limit, 1000
	c.Start(From{Conn: client}, startReq("running", 1), bc)
	long := strings.Repeat("x", 10000)
	for i := range 600 {
		tx := fmt.Sprintf("t%d", i)
		c.Start(From{Conn: client}, startReq(tx, 1), bc)
		for _, e := range c.Vote(part("B"), &wire.Vote{TxID: tx, From: "B", Reason: long}) {
			if p, ok := e.(Persist); ok {
				c.Logged(p.Rec)
			}
		}
		if c.finishedBytes > limit+limit/4 {
			t.Fatalf("after %d: %d bytes remembered, bound %d (+ a quarter)", i, c.finishedBytes, limit)
		}
	}
	var sum int64
	for _, tx := range c.order {
		if tx.node.finished {
			sum += tx.node.cost
		}
	}
	if sum != c.finishedBytes || len(c.txns) != len(c.order) || c.Txn("running") == nil || c.Txn("t599") == nil || c.Txn("t0") != nil {
		t.Fatalf("accounted %d (sum %d), %d finished, %d in txns, %d in order", c.finishedBytes, sum, c.finished, len(c.txns), len(c.order))
	}
}

// TestLoggedCostMeasured checks LoggedCost against the heap, as
// TestOutcomeCostMeasured does for the Coordinator: the log model's byte
// bound relies on it never being low.
func TestLoggedCostMeasured(t *testing.T) {
	const n = 20000
	l := NewCoordLog(n)
	recs := make([]Record, 0, 3*n)
	for i := range n {
		id := fmt.Sprintf("tx-%06d", i)
		recs = append(recs, Record{Kind: RecBegin, TxID: id, Protocol: wire.TwoPC, Members: bc},
			Record{Kind: RecDecision, TxID: id, Protocol: wire.TwoPC, Commit: true, Members: bc},
			Record{Kind: RecEnd, TxID: id, Protocol: wire.TwoPC})
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, r := range recs {
		if err := l.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perTxn := int64(after.HeapAlloc-before.HeapAlloc) / n
	est := LoggedCost(l.Get("tx-000000"))
	t.Logf("heap %d bytes per logged transaction, estimated %d", perTxn, est)
	if len(l.All()) != n || perTxn > est {
		t.Fatalf("%d remembered; heap %d bytes each, LoggedCost says %d", len(l.All()), perTxn, est)
	}
	runtime.KeepAlive(recs)
}
