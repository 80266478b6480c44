package coordinator

import (
	"context"
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// clientWaiter is a client connection waiting for a transaction's outcome.
type clientWaiter struct {
	conn  *transport.Conn
	reqID uint64
}

// addWaiter attaches another client (a retry of the same id) to a running
// transaction.
type addWaiter struct{ w clientWaiter }

// txnTimer is a protocol timer firing.
type txnTimer struct {
	seq   uint64
	due   time.Time
	after time.Duration
}

// txnRetry is the retransmission timer firing.
type txnRetry struct{ epoch uint64 }

// statusPoll asks a running transaction for its status (a status request
// gathering every transaction's); it answers statusAnswer.
type statusPoll struct{ gather uint64 }

type statusAnswer struct {
	gather uint64
	status wire.TxStatus
}

// txnDecided tells the coordinator actor a decision is durable, so a retried
// Start is answered at once and a participant's query gets the outcome.
type txnDecided struct {
	status wire.TxStatus
	tooOld bool // a retry of an id a member had committed: retries hear "id too old"
}

// txnFinished tells the coordinator actor the transaction needs nothing
// more; the coordinator stops it (one party stops each actor).
type txnFinished struct{ status wire.TxStatus }

// txnDeps is what a transaction actor needs from its node.
type txnDeps struct {
	nodeID string
	wal    *walwriter.Writer
	peers  func(m wire.Member) *transport.Peer // a member's connection (nil: unknown)
	// addrOf is the configured address of the participant that
	// identified itself as id in its handshake, if it was configured by
	// address alone ("" otherwise): see txnActor.member.
	addrOf  func(id string) string
	retry   time.Duration // retransmission interval
	logger  *slog.Logger
	fatal   func(error)
	started time.Time
	trace   *trace.Ring   // what this node recorded of each transaction
	client  bool          // started by a client here (not recovered): its latency is measured
	metrics *metrics.Node // nil: off
}

// delivery is the phase message a member has not answered yet.
type delivery struct {
	peer *transport.Peer
	msg  wire.Message
}

// txnActor runs one transaction's state machine and carries out its
// effects. It is not a hollywood actor of its own: a txnShard hosts it
// (txnshard.go) and hands it its messages one at a time, so it has the
// actor's guarantees without a spawn, an inbox and a fresh goroutine per
// transaction. It also keeps each member's unanswered phase message and resends
// them every retry interval, so a lost frame or a reconnecting participant
// costs one interval, not the transaction. Participants' replies are routed
// here straight from the connection readers.
//
// This is a map and one timer here, not a session child actor per member:
// such actors (a spawn each, and every message passing through them) would
// cost more than the rest of the transaction's actor work
// (docs/decisions.md, "No per-participant session actors").
type txnActor struct {
	deps    txnDeps
	fsm     *protocol.CoordTxn
	waiters []clientWaiter
	replied wire.Message         // the client's answer (StartResult, or Error for a too-old id), for late waiters
	pending map[string]*delivery // member id → unanswered message
	epoch   uint64
	retryT  *time.Timer
	timers  []*time.Timer
	id      string
	self    *actor.PID // the hosting shard
	parent  *actor.PID // the coordinator actor
	engine  *actor.Engine
}

func newTxnActor(deps txnDeps, fsm *protocol.CoordTxn, first *clientWaiter) *txnActor {
	t := &txnActor{deps: deps, fsm: fsm, id: fsm.ID()}
	if first != nil {
		t.waiters = append(t.waiters, *first)
	}
	return t
}

// start runs on the shard when the transaction is handed to it.
func (t *txnActor) start(shard *txnShard) {
	t.self, t.parent, t.engine = shard.self, shard.parent, shard.engine
	t.pending = make(map[string]*delivery, len(t.fsm.Members()))
	t.run(t.fsm.Start())
}

// stop releases the transaction's timers; the shard forgets it.
func (t *txnActor) stop() {
	for _, tm := range t.timers {
		tm.Stop()
	}
	if t.retryT != nil {
		t.retryT.Stop()
	}
}

// handle is the transaction's Receive.
func (t *txnActor) handle(msg any) {
	switch m := msg.(type) {
	case *wire.Vote:
		if from := t.member(m.From); from != m.From {
			v := *m
			v.From = from
			m = &v
		}
		t.answered(m.From, func(p wire.Message) bool { _, ok := p.(*wire.Prepare); return ok })
		t.run(t.fsm.Vote(m))
	case *wire.Ack:
		if from := t.member(m.From); from != m.From {
			a := *m
			a.From = from
			m = &a
		}
		t.answered(m.From, func(p wire.Message) bool {
			switch p.(type) {
			case *wire.PreCommit:
				return true // any answer: the state machine decides what it means
			case *wire.Decision:
				return m.State.Final()
			}
			return false
		})
		if d, out, _ := t.fsm.Decided(); d && m.State.Final() && m.State != out && m.Heuristic {
			// An operator resolved it by hand (txcli resolve) against the
			// decision; the participant reports it too, and status shows it.
			t.deps.logger.Error("heuristic damage: a participant was resolved by an operator against the decision",
				"tx", m.TxID, "participant", m.From, "participant_state", string(m.State), "decision", string(out))
		} else if d && m.State.Final() && m.State != out {
			// Only 3PC under a partition or a long pause can get here
			// (docs/protocols.md, "2PC or 3PC?"); say so loudly rather than hide it.
			t.deps.logger.Error("atomicity violated: a participant reached the other outcome",
				"tx", m.TxID, "participant", m.From, "participant_state", string(m.State), "decision", string(out))
		}
		t.run(t.fsm.Ack(m))
	case *wire.QueryReply:
		if from := t.member(m.From); from != m.From {
			r := *m
			r.From = from
			m = &r
		}
		t.answered(m.From, func(p wire.Message) bool { _, ok := p.(*wire.Query); return ok })
		t.run(t.fsm.QueryReply(m))
	case inbound:
		// A participant asks about us (forwarded by the coordinator).
		if q, ok := m.msg.(*wire.Query); ok {
			if eff := t.fsm.Query(t.member(q.From)); len(eff) > 0 {
				// Answer on the asker's own connection too: ours to it may
				// be down (it restarted; we are still backing off).
				for _, e := range eff {
					if s, ok := e.(protocol.Send); ok {
						_ = m.conn.Send(s.Msg)
						node.TraceMsg(t.deps.trace, trace.Send, q.From, s.Msg)
					}
				}
				t.run(eff)
				return
			}
			// Undecided, or decided but not yet in phase two (--delay):
			// "alive, ask again", without the outcome.
			st := t.fsm.Status().State
			if st.Final() {
				st = wire.StateInit
			}
			reply := &wire.QueryReply{TxID: q.TxID, From: t.deps.nodeID, State: st}
			_ = m.conn.Send(reply)
			node.TraceMsg(t.deps.trace, trace.Send, q.From, reply)
		}
	case walwriter.Durable:
		txnCrashLogged(m.Rec)
		t.run(t.fsm.Logged(m.Rec))
	case txnTimer:
		if node.LateBy(m.due, m.after) {
			// We were stopped: answers that arrived meanwhile are still
			// queued behind this timer. Give them a full interval before
			// acting on the silence (a pre-commit timeout would otherwise
			// commit over participants that aborted while we slept).
			m.due = time.Now().Add(m.after)
			t.timers = append(t.timers, hollywood.AfterFunc(t.engine, t.self, m.after, txnMsg{id: t.id, msg: m}))
			return
		}
		t.run(t.fsm.Timer(m.seq))
	case txnRetry:
		if m.epoch == t.epoch {
			t.resend()
		}
	case statusPoll:
		t.engine.Send(t.parent, statusAnswer{gather: m.gather, status: t.fsm.Status()})
	case addWaiter:
		if t.replied != nil {
			r := withReqID(t.replied, m.w.reqID)
			_ = m.w.conn.Send(r)
			node.TraceMsg(t.deps.trace, trace.Send, "client", r)
			return
		}
		t.waiters = append(t.waiters, m.w)
	}
}

// run carries out effects in order. Forced records come back as walwriter.Durable
// and only then does the state machine emit what depends on them.
func (t *txnActor) run(effects []protocol.Effect) {
	for i, eff := range effects {
		txnCrashBefore(effects, i)
		switch e := eff.(type) {
		case protocol.Send:
			t.send(e)
		case protocol.Persist:
			app := walwriter.Entry{Rec: e.Rec}
			if e.Force {
				app.ReplyTo = t.self
			}
			t.deps.wal.Append(app)
		case protocol.SetTimer:
			t.timers = append(t.timers, hollywood.AfterFunc(t.engine, t.self, e.After,
				txnMsg{id: t.id, msg: txnTimer{seq: e.Seq, due: time.Now().Add(e.After), after: e.After}}))
		case protocol.Reply:
			t.reply(e)
		case protocol.Finished:
			t.engine.Send(t.parent, txnFinished{status: t.fsm.Status()})
		}
	}
}

// send transmits a phase message and keeps it for retransmission until the
// member answers it; a newer message to the same member replaces it.
func (t *txnActor) send(e protocol.Send) {
	d := t.pending[e.To]
	if d == nil {
		d = &delivery{peer: t.deps.peers(wire.Member{ID: e.To, Addr: e.Addr})}
		t.pending[e.To] = d
	}
	d.msg = e.Msg
	if d.peer != nil && d.peer.Send(e.Msg) != nil {
		// Not connected: the retry timer tries again, and learns by then
		// whether a fresh dial failed (resend).
		d.peer.Redial()
	}
	node.TraceMsg(t.deps.trace, trace.Send, e.To, e.Msg)
	if t.retryT == nil {
		t.armRetry()
	}
}

// answered clears a member's pending message if reply answers it.
func (t *txnActor) answered(from string, answers func(pending wire.Message) bool) {
	if d := t.pending[from]; d != nil && d.msg != nil && answers(d.msg) {
		d.msg = nil
	}
}

func (t *txnActor) resend() {
	t.retryT = nil
	waiting := false
	var down map[string]error
	for id, d := range t.pending {
		if d.msg != nil && d.peer != nil {
			if d.peer.Send(d.msg) != nil {
				// Known down (connection lost, and a dial begun since
				// this transaction started failed): the state machine
				// may abort at once rather than wait out the vote
				// timeout. Otherwise find out by the next retry.
				if err := d.peer.Unreachable(t.deps.started); err != nil {
					if down == nil {
						down = map[string]error{}
					}
					down[id] = err
				}
				d.peer.Redial()
			}
			node.TraceMsg(t.deps.trace, trace.Send, id, d.msg)
			waiting = true
		}
	}
	if waiting {
		t.armRetry()
	}
	for _, id := range t.fsm.MemberIDs() { // in a stable order
		if err, ok := down[id]; ok {
			t.run(t.fsm.Unreachable(id, err.Error()))
		}
	}
}

// member maps the sender of a reply to the member it answers for. A
// participant configured by address alone ("host:port") is named by that
// address in a transaction that began before its handshake told its id; its
// replies carry the id. Unmapped, they would be dropped, and the
// transaction would abort on a vote timeout although everyone voted YES.
func (t *txnActor) member(from string) string {
	for _, m := range t.fsm.Members() {
		if m.ID == from {
			return from
		}
	}
	if t.deps.addrOf == nil {
		return from
	}
	if addr := t.deps.addrOf(from); addr != "" {
		for _, m := range t.fsm.Members() {
			if m.ID == addr {
				return addr
			}
		}
	}
	return from
}

func (t *txnActor) armRetry() {
	t.epoch++
	t.retryT = hollywood.AfterFunc(t.engine, t.self, t.deps.retry, txnMsg{id: t.id, msg: txnRetry{epoch: t.epoch}})
}

func (t *txnActor) reply(r protocol.Reply) {
	st := t.fsm.Status()
	// Logged before the client hears it: a test (or an operator) that sees
	// the answer can rely on the line being there.
	took := time.Since(t.deps.started)
	if t.deps.logger.Enabled(context.Background(), slog.LevelInfo) { // spares boxing the arguments at warn level
		t.deps.logger.Info("transaction decided", "tx", r.TxID, "protocol", string(st.Protocol),
			"outcome", string(r.Outcome), "reason", r.Reason,
			"took", took.Round(time.Microsecond))
	}
	commit := r.Outcome == wire.StateCommitted
	t.deps.metrics.Outcome(st.Protocol, commit)
	if t.deps.client {
		t.deps.metrics.Latency(st.Protocol, commit, took)
	}
	t.replied = &wire.StartResult{TxID: r.TxID, Protocol: st.Protocol, Outcome: r.Outcome, Reason: r.Reason}
	if r.TooOld {
		t.replied = tooOldError(r.Reason)
	}
	for _, w := range t.waiters {
		out := withReqID(t.replied, w.reqID)
		_ = w.conn.Send(out) // a client that went away learns the outcome from status
		node.TraceMsg(t.deps.trace, trace.Send, "client", out)
	}
	t.waiters = nil
	st.State, st.Reason = r.Outcome, r.Reason
	t.engine.Send(t.parent, txnDecided{status: st, tooOld: r.TooOld})
}
