package actors

import (
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
		afterFunc(a.engine, a.self, forgetEvery, forgetFlush{})
	}
	a.finished++
	a.trimFinished()
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
		traceMsg(a.deps.trace, trace.Send, member, f)
	}
}

// trimFinished drops the oldest finished transactions beyond the window,
// once it is a quarter over (so the pass over order is amortized).
func (a *coordinatorActor) trimFinished() {
	if a.finished <= a.keep+a.keep/4 {
		return
	}
	drop := a.finished - a.keep
	kept := a.order[:0]
	for _, id := range a.order {
		if tx := a.txns[id]; drop > 0 && tx.pid == nil {
			delete(a.txns, id)
			a.finished--
			drop--
			continue
		}
		kept = append(kept, id)
	}
	clear(a.order[len(kept):])
	a.order = kept
}
