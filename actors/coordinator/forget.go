package coordinator

import (
	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/wire"
)

// ended records a finished transaction: its members may forget it (END is
// logged: nobody is in doubt), and the coordinator keeps only the last
// `keep` finished ones (the window in which a retried id gets its recorded
// outcome back; the WAL checkpoint keeps the same window).
func (a *coordinatorActor) ended(st wire.TxStatus) {
	for id := range st.Participants {
		a.forget[id] = append(a.forget[id], st.TxID)
		if len(a.forget[id]) >= forgetBatch {
			a.sendForget(id)
		}
	}
	if len(a.forget) > 0 && !a.forgetDue {
		a.forgetDue = true
		hollywood.AfterFunc(a.engine, a.self, forgetEvery, forgetFlush{})
	}
	a.keepFinished(a.txns[st.TxID])
}

// sendForget tells one member about its ended transactions. A lost Forget
// costs that member memory, never correctness.
func (a *coordinatorActor) sendForget(member string) {
	ids := a.forget[member]
	delete(a.forget, member)
	if len(ids) == 0 {
		return
	}
	if p := a.peerFor(wire.Member{ID: member}); p != nil {
		f := &wire.Forget{TxIDs: ids}
		_ = p.Send(f)
		node.TraceMsg(a.deps.trace, trace.Send, member, f)
	}
}

// keepFinished counts tx, just finished, into the window and trims it.
func (a *coordinatorActor) keepFinished(tx *coordTx) {
	if tx == nil {
		return
	}
	tx.cost = outcomeCost(&tx.status)
	a.finished++
	a.finishedBytes += tx.cost
	a.trimFinished()
}

// outcomeCost estimates the memory a finished transaction holds here: a
// fixed part measured on amd64 (coordTx, its map entry and order slot, the
// participants map), its strings, and its participants.
func outcomeCost(st *wire.TxStatus) int64 {
	n := int64(384 + len(st.TxID) + len(st.Reason))
	for id := range st.Participants {
		n += int64(64 + len(id))
	}
	return n
}

// trimFinished drops the oldest finished transactions beyond the window
// (--keep-outcomes, and their estimated memory beyond
// --keep-outcomes-bytes), once it is a quarter over either bound (so the
// pass over order is amortized).
func (a *coordinatorActor) trimFinished() {
	if !protocol.OverWindow(a.finished, a.finishedBytes, a.keep, a.keepBytes, 4) {
		return
	}
	kept := a.order[:0]
	for _, id := range a.order {
		if tx := a.txns[id]; tx.pid == nil && protocol.OverWindow(a.finished, a.finishedBytes, a.keep, a.keepBytes, 0) {
			delete(a.txns, id)
			a.finished--
			a.finishedBytes -= tx.cost
			continue
		}
		kept = append(kept, id)
	}
	clear(a.order[len(kept):])
	a.order = kept
}
