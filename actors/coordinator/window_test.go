package coordinator

import (
	"strconv"
	"strings"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/wire"
)

// The coordinator's outcome window is bounded in estimated bytes as well as
// in number: 300 aborts with long reasons keep only what fits; running
// transactions are never dropped.
func TestOutcomeWindowBytes(t *testing.T) {
	const limit = 256 << 10
	a := &coordinatorActor{txns: map[string]*coordTx{}, keep: 100000, keepBytes: limit}
	running := &coordTx{pid: actor.NewPID("local", "running"), status: wire.TxStatus{TxID: "running"}}
	a.txns["running"] = running
	a.order = append(a.order, "running")
	long := strings.Repeat("x", 10000)
	for i := range 300 {
		id := "t" + strconv.Itoa(i)
		tx := &coordTx{decided: true, status: wire.TxStatus{TxID: id, State: wire.StateAborted, Reason: long,
			Participants: map[string]wire.State{"B": wire.StateAborted, "C": wire.StateAborted}}}
		a.txns[id] = tx
		a.order = append(a.order, id)
		a.keepFinished(tx)
		if a.finishedBytes > limit+limit/4 {
			t.Fatalf("after %d: %d bytes remembered, bound %d (+ a quarter)", i, a.finishedBytes, limit)
		}
	}
	var sum int64
	for _, id := range a.order {
		if tx := a.txns[id]; tx.pid == nil {
			sum += outcomeCost(&tx.status)
		}
	}
	if sum != a.finishedBytes || len(a.txns) != len(a.order) || a.txns["running"] != running ||
		a.txns["t299"] == nil || a.txns["t0"] != nil || a.finished > limit/10000+limit/4/10000+1 {
		t.Fatalf("accounted %d (sum %d), %d finished, %d in txns, %d in order; running kept %v",
			a.finishedBytes, sum, a.finished, len(a.txns), len(a.order), a.txns["running"] != nil)
	}
}
