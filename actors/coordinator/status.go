package coordinator

import (
	"slices"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/wire"
)

// statusGather is a status request waiting for the running transactions to
// report. Transactions do not push their progress on every vote and ack
// (that would be a message per event, for a request people make by hand);
// the coordinator polls them when asked. Every polled transaction answers:
// the poll is queued before any stop the coordinator sends it later, and a
// stopping actor still handles what was queued before the pill.
//
// The answer goes to the status desk (node.StatusDesk), which encodes and
// sends it: here it costs a walk over the running transactions and the
// newest finished ones, not over the whole outcome window.
type statusGather struct {
	reply   chan<- *wire.Status
	waiting int
	live    map[string]wire.TxStatus
}

func (a *coordinatorActor) startStatus(c *actor.Context, reply chan<- *wire.Status) {
	a.gatherSeq++
	g := &statusGather{reply: reply, live: map[string]wire.TxStatus{}}
	for _, id := range a.order {
		if tx := a.txns[id]; tx.pid != nil {
			c.Send(tx.pid, txnMsg{id: id, msg: statusPoll{gather: a.gatherSeq}})
			g.waiting++
		}
	}
	if g.waiting == 0 {
		a.finishStatus(g)
		return
	}
	a.gathers[a.gatherSeq] = g
}

func (a *coordinatorActor) statusAnswer(m statusAnswer) {
	g := a.gathers[m.gather]
	if g == nil {
		return
	}
	g.live[m.status.TxID] = m.status
	if g.waiting--; g.waiting == 0 {
		delete(a.gathers, m.gather)
		a.finishStatus(g)
	}
}

// statusFinished is how many finished transactions a status shows (the
// most recent); every running one is always shown. The whole outcome
// window (--keep-outcomes) would not fit in a frame.
const statusFinished = 1000

func (a *coordinatorActor) finishStatus(g *statusGather) {
	st := &wire.Status{NodeID: a.cfg.NodeID, Role: wire.RoleCoordinator,
		Committed: a.committed, Aborted: a.aborted, Boot: a.boot, Now: time.Now().UnixNano()}
	for _, p := range a.peers {
		st.Participants = append(st.Participants, wire.PeerStatus{ID: p.id(), Addr: p.addr, Connected: p.peer.Connected()})
	}
	// Walk back from the newest until every running (or polled) transaction
	// and statusFinished finished ones are found, then put them oldest
	// first. The statuses are never changed once stored (a transaction's
	// next status is a new value), so the desk may encode them after this
	// returns.
	want := a.running
	for id := range g.live {
		if tx := a.txns[id]; tx != nil && tx.pid == nil {
			want++ // polled, and finished since
		}
	}
	finished := 0
	for i := len(a.order) - 1; i >= 0 && (want > 0 || finished < statusFinished); i-- {
		id := a.order[i]
		tx := a.txns[id]
		s, polled := g.live[id]
		switch {
		case polled || tx.pid != nil:
			want--
			if !polled {
				s = tx.status
			}
		case finished < statusFinished:
			finished++
			s = tx.status
		default:
			continue
		}
		if tx.tooOld {
			// This run aborted, but the id was committed by an earlier
			// one: not ABORTED (Reason says what a member remembers).
			s.State = wire.StateUnknown
		}
		st.Transactions = append(st.Transactions, tx.stamp(s))
	}
	slices.Reverse(st.Transactions)
	g.reply <- st // buffered for this one answer
}
