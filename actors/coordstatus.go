package actors

import (
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
type statusGather struct {
	conn    *wire.Conn
	reqID   uint64
	waiting int
	live    map[string]wire.TxStatus
}

func (a *coordinatorActor) startStatus(c *actor.Context, conn *wire.Conn, reqID uint64) {
	a.gatherSeq++
	g := &statusGather{conn: conn, reqID: reqID, live: map[string]wire.TxStatus{}}
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
	st := &wire.Status{ReqID: g.reqID, NodeID: a.cfg.NodeID, Role: wire.RoleCoordinator,
		Committed: a.committed, Aborted: a.aborted, Boot: a.boot, Now: time.Now().UnixNano()}
	for _, p := range a.peers {
		st.Participants = append(st.Participants, wire.PeerStatus{ID: p.id(), Addr: p.addr, Connected: p.peer.Connected()})
	}
	skip := max(0, a.finished-statusFinished) // the oldest finished ones
	for _, id := range a.order {
		tx := a.txns[id]
		s, ok := g.live[id]
		if !ok {
			if tx.pid == nil && skip > 0 {
				skip--
				continue
			}
			s = tx.status
		}
		if tx.tooOld {
			// This run aborted, but the id was committed by an earlier
			// one: not ABORTED (Reason says what a member remembers).
			s.State = wire.StateUnknown
		}
		st.Transactions = append(st.Transactions, tx.stamp(s))
	}
	if err := g.conn.Send(st); err != nil {
		a.logger.Error("status not sent", "err", err, "transactions", len(st.Transactions))
	}
}
