package actors

import (
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// clientWaiter is a client connection waiting for a transaction's outcome.
type clientWaiter struct {
	conn  *wire.Conn
	reqID uint64
}

// addWaiter attaches another client (a retry of the same id) to a running
// transaction.
type addWaiter struct{ w clientWaiter }

// txnTimer is a protocol timer firing.
type txnTimer struct{ seq uint64 }

// txnProgress tells the coordinator actor how a transaction stands, for
// status queries.
type txnProgress struct{ status wire.TxStatus }

// txnDecided tells the coordinator actor a decision is durable, so a retried
// Start is answered at once and a participant's query gets the outcome.
type txnDecided struct {
	id      string
	outcome wire.State
	reason  string
}

// txnFinished tells the coordinator actor the transaction needs nothing
// more; the coordinator stops it (one party stops each actor).
type txnFinished struct{ id string }

// txnDeps is what a transaction actor needs from its node.
type txnDeps struct {
	nodeID  string
	wal     *actor.PID
	peers   map[string]*wire.Peer // member id and address → connection
	retry   time.Duration         // session retransmission interval
	logger  *slog.Logger
	fatal   func(error)
	started time.Time
}

// txnActor runs one transaction's state machine and carries out its effects.
// It owns one session child per member.
type txnActor struct {
	deps     txnDeps
	fsm      *protocol.CoordTxn
	waiters  []clientWaiter
	replied  *wire.StartResult
	sessions map[string]*actor.PID
	timers   []*time.Timer
	self     *actor.PID
	engine   *actor.Engine
}

func newTxnActor(deps txnDeps, fsm *protocol.CoordTxn, first *clientWaiter) actor.Producer {
	return func() actor.Receiver {
		t := &txnActor{deps: deps, fsm: fsm}
		if first != nil {
			t.waiters = append(t.waiters, *first)
		}
		return t
	}
}

func (t *txnActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		t.self, t.engine = c.PID(), c.Engine()
		t.sessions = make(map[string]*actor.PID)
		for _, m := range t.fsm.Members() {
			peer := t.deps.peers[m.ID]
			if peer == nil {
				peer = t.deps.peers[m.Addr] // recovered before the participant reconnected
			}
			t.sessions[m.ID] = c.SpawnChild(newSession(m.ID, peer, t.deps.retry), "sess",
				actor.WithID(m.ID), actor.WithInboxSize(16),
				actor.WithMiddleware(crashOnPanic(t.deps.logger, t.deps.fatal)))
		}
		t.run(c, t.fsm.Start())
	case actor.Stopped:
		for _, tm := range t.timers {
			tm.Stop()
		}
	case *wire.Vote:
		t.run(c, t.fsm.Vote(m))
	case *wire.Ack:
		t.run(c, t.fsm.Ack(m))
	case *wire.QueryReply:
		t.run(c, t.fsm.QueryReply(m))
	case inbound:
		// A participant asks about us (forwarded by the coordinator).
		if q, ok := m.msg.(*wire.Query); ok {
			if eff := t.fsm.Query(q.From); len(eff) > 0 {
				t.run(c, eff)
				return
			}
			_ = m.conn.Send(&wire.QueryReply{TxID: q.TxID, From: t.deps.nodeID, State: t.fsm.Status().State})
		}
	case walDurable:
		t.run(c, t.fsm.Logged(m.Rec))
	case txnTimer:
		t.run(c, t.fsm.Timer(m.seq))
	case addWaiter:
		if t.replied != nil {
			r := *t.replied
			r.ReqID = m.w.reqID
			_ = m.w.conn.Send(&r)
			return
		}
		t.waiters = append(t.waiters, m.w)
	}
}

// run carries out effects in order. Forced records come back as walDurable
// and only then does the state machine emit what depends on them.
func (t *txnActor) run(c *actor.Context, effects []protocol.Effect) {
	finished := false
	for _, eff := range effects {
		switch e := eff.(type) {
		case protocol.Send:
			if pid := t.sessions[e.To]; pid != nil {
				c.Send(pid, sessionSend{msg: e.Msg})
			}
		case protocol.Persist:
			data, err := encodeRecord(e.Rec)
			if err != nil {
				t.deps.fatal(err)
				return
			}
			app := walAppend{Data: data, Rec: e.Rec}
			if e.Force {
				app.ReplyTo = t.self
			}
			c.Send(t.deps.wal, app)
		case protocol.SetTimer:
			t.timers = append(t.timers, afterFunc(t.engine, t.self, e.After, txnTimer{seq: e.Seq}))
		case protocol.Reply:
			t.reply(c, e)
		case protocol.Finished:
			finished = true
		}
	}
	// Progress first: the coordinator must see the final states before it
	// hears the transaction is finished (same sender, so FIFO).
	c.Send(c.Parent(), txnProgress{status: t.fsm.Status()})
	if finished {
		c.Send(c.Parent(), txnFinished{id: t.fsm.ID()})
	}
}

func (t *txnActor) reply(c *actor.Context, r protocol.Reply) {
	res := &wire.StartResult{TxID: r.TxID, Protocol: t.fsm.Status().Protocol, Outcome: r.Outcome, Reason: r.Reason}
	t.replied = res
	for _, w := range t.waiters {
		out := *res
		out.ReqID = w.reqID
		_ = w.conn.Send(&out) // a client that went away learns the outcome from status
	}
	t.waiters = nil
	c.Send(c.Parent(), txnDecided{id: r.TxID, outcome: r.Outcome, reason: r.Reason})
	t.deps.logger.Info("transaction decided", "tx", r.TxID, "outcome", string(r.Outcome), "reason", r.Reason,
		"took", time.Since(t.deps.started).Round(time.Microsecond))
}
