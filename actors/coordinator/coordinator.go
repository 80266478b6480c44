package coordinator

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// inbound is a request that arrived on a connection, for the node's main actor.
type inbound struct {
	conn *transport.Conn
	msg  wire.Message
}

// peerInfo is one configured participant.
type peerInfo struct {
	fixedID string // from --participants id=addr; "" to learn it from the handshake
	addr    string
	peer    *transport.Peer
}

// id is the participant's id: configured, or learned from its handshake, or
// its address while it has never been reached.
func (p *peerInfo) id() string {
	if p.fixedID != "" {
		return p.fixedID
	}
	if id := p.peer.Remote().NodeID; id != "" && wire.CheckID("participant id", id) == nil {
		return id
	}
	return p.addr
}

// coordTx is what the coordinator keeps of a transaction: the shard hosting
// it while it runs, and its latest status for queries and retries.
type coordTx struct {
	pid     *actor.PID // its shard while it runs; nil once finished
	status  wire.TxStatus
	decided bool
	tooOld  bool  // a retry of an id a member had committed: answered "id too old" (tooold.go)
	cost    int64 // once finished: its estimated memory (outcomeCost), counted in the window
	watchTimes
}

// coordinatorActor accepts clients' transactions, hands each to a txn
// shard (txnshard.go), answers status and outcome queries, and tracks the
// participant connections.
type coordinatorActor struct {
	cfg           protocol.CoordConfig
	deps          txnDeps
	peers         []*peerInfo
	shards        *txnShards
	txns          map[string]*coordTx
	order         []string // transaction ids, oldest first
	running       int
	maxActive     int
	recovered     []protocol.LoggedTx // the log at start-up, consumed by resume
	keep          int                 // finished transactions to remember
	keepBytes     int64               // their estimated memory bound (0: none)
	finished      int                 // finished entries in order
	finishedBytes int64               // their estimated memory (outcomeCost)
	logger        *slog.Logger
	engine        *actor.Engine
	gathers       map[uint64]*statusGather
	gatherSeq     uint64
	self          *actor.PID
	forget        map[string][]string               // member id → ended transactions to tell it about
	forgetDue     bool                              // a forgetFlush is on its way
	drained       chan struct{}                     // set when draining: closed once nothing is undecided
	presumed      map[string][]func(*wire.Decision) // presumed aborts being logged → answers waiting (presumed.go)
	undecided     int                               // running transactions whose clients await a decision
	watchCounts
}

// forgetFlush sends the gathered Forget lists.
type forgetFlush struct{}

// forgetBatch is how many ended transactions make a Forget go at once;
// otherwise they go every forgetEvery.
const (
	forgetBatch = 256
	forgetEvery = 100 * time.Millisecond
)

func (a *coordinatorActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		a.engine, a.self = c.Engine(), c.PID()
		a.forget = map[string][]string{}
		a.gathers = map[uint64]*statusGather{}
		a.presumed = map[string][]func(*wire.Decision){}
		a.deps.peers = a.peerFor
		a.deps.addrOf = a.learnedAddr
		a.boot = time.Now().UnixNano()
		a.resume(c)
	case inbound:
		switch msg := m.msg.(type) {
		case *wire.Start:
			a.start(c, m.conn, msg)
		case *wire.Query:
			a.answerQuery(m.conn, msg.TxID)
		case *wire.Vote:
			a.lateVote(m.conn, msg)
		}
		// Late acks and query replies for finished transactions need nothing.
	case node.StatusSnap:
		a.startStatus(c, m.Reply)
	case statusAnswer:
		a.statusAnswer(m)
	case txnDecided:
		if tx := a.txns[m.status.TxID]; tx != nil {
			if !tx.decided {
				a.undecided--
			}
			tx.decided = true
			tx.status = m.status
			tx.tooOld = tx.tooOld || m.tooOld
			a.noteDecided(tx)
			a.drainIfIdle()
		}
	case txnFinished:
		if tx := a.txns[m.status.TxID]; tx != nil && tx.pid != nil {
			tx.status = m.status
			a.noteDecided(tx)
			c.Send(tx.pid, stopTxn{id: m.status.TxID})
			tx.pid = nil
			a.running--
			if tx.status.State == wire.StateAborted {
				// Participants that never voted were not waited for: by
				// presumed abort they abort too (or already have).
				for id, s := range tx.status.Participants {
					if !s.Final() {
						tx.status.Participants[id] = wire.StateAborted
					}
				}
			}
			a.ended(tx.status)
		}
	case node.MetricsPoll:
		c.Respond(node.MetricsReply{Count: a.running})
	case walwriter.Durable:
		a.presumedDurable(m.Rec)
	case drain:
		a.drained = m.done
		a.drainIfIdle()
	case forgetFlush:
		a.forgetDue = false
		for id := range a.forget {
			a.sendForget(id)
		}
	}
}

// resume restarts every transaction the log shows unfinished: a decision
// without END is delivered again; no decision means abort.
func (a *coordinatorActor) resume(c *actor.Context) {
	for _, r := range a.recovered {
		id := r.ID
		tx := &coordTx{status: wire.TxStatus{TxID: id, Protocol: r.Protocol, Participants: map[string]wire.State{}}}
		for _, m := range r.Members {
			tx.status.Participants[m.ID] = wire.StateUnknown
		}
		if r.Decided {
			tx.decided, tx.tooOld = true, r.TooOld
			tx.decidedAt = time.Now().UnixNano() // not counted: decided before the restart
			tx.status.State, tx.status.Reason = wire.StateAborted, r.Reason
			if r.Commit {
				tx.status.State = wire.StateCommitted
			}
		}
		a.txns[id] = tx
		a.order = append(a.order, id)
		if r.Ended {
			for _, m := range r.Members {
				tx.status.Participants[m.ID] = tx.status.State
			}
			tx.cost = outcomeCost(&tx.status)
			a.finished++
			a.finishedBytes += tx.cost
			continue
		}
		fsm := protocol.RecoverCoordTxn(a.cfg, id, r.Protocol, r.Members, r.Decided, r.Commit, r.Reason)
		a.logger.Info("recovering transaction", "tx", id, "decided", r.Decided, "commit", r.Commit)
		logged := tx.status
		a.spawn(c, tx, fsm, nil)
		if tx.decided {
			// The log's decision stands (spawn took the status from before
			// the transaction resumed, which says INIT).
			tx.status.State, tx.status.Reason = logged.State, logged.Reason
		}
	}
	a.recovered = nil
	a.trimFinished()
}

func (a *coordinatorActor) start(c *actor.Context, conn *transport.Conn, req *wire.Start) {
	fail := func(code wire.ErrorCode, format string, args ...any) {
		_ = conn.Send(&wire.Error{ReqID: req.ReqID, Code: code, Msg: fmt.Sprintf(format, args...)})
	}
	if err := wire.CheckID("transaction id", req.TxID); err != nil {
		fail(wire.ErrBadRequest, "%v", err)
		return
	}
	w := clientWaiter{conn: conn, reqID: req.ReqID}
	if tx := a.txns[req.TxID]; tx != nil {
		// A known id: answer with its outcome, never run it twice.
		switch {
		case a.presumed[req.TxID] != nil:
			// Presumed aborted, not yet durably: answered when it is.
			a.presumed[req.TxID] = append(a.presumed[req.TxID], func(d *wire.Decision) {
				res := &wire.StartResult{ReqID: req.ReqID, TxID: req.TxID, Outcome: wire.StateAborted, Reason: d.Reason}
				_ = conn.Send(res)
				node.TraceMsg(a.deps.trace, trace.Send, "client", res)
			})
		case tx.decided && tx.tooOld:
			res := tooOldError(tx.status.Reason)
			res.ReqID = req.ReqID
			_ = conn.Send(res)
			node.TraceMsg(a.deps.trace, trace.Send, "client", res)
		case tx.decided:
			res := &wire.StartResult{ReqID: req.ReqID, TxID: req.TxID, Protocol: tx.status.Protocol,
				Outcome: tx.status.State, Reason: tx.status.Reason}
			_ = conn.Send(res)
			node.TraceMsg(a.deps.trace, trace.Send, "client", res)
		case tx.pid != nil:
			c.Send(tx.pid, txnMsg{id: req.TxID, msg: addWaiter{w}})
		}
		return
	}
	if req.Protocol != wire.TwoPC && req.Protocol != wire.ThreePC {
		fail(wire.ErrBadRequest, "unknown protocol %q (want 2PC or 3PC)", req.Protocol)
		return
	}
	if err := wire.CheckOps(req.Ops); err != nil {
		fail(wire.ErrBadRequest, "%v", err)
		return
	}
	members, ops, err := a.plan(req.Ops)
	if err != nil {
		fail(wire.ErrBadRequest, "%v", err)
		return
	}
	if a.drained != nil {
		fail(wire.ErrShutdown, "coordinator shutting down; retry on its restart (or another coordinator)")
		return
	}
	if a.running >= a.maxActive {
		fail(wire.ErrBusy, "coordinator busy: %d transactions in flight; retry later", a.running)
		return
	}
	tx := &coordTx{status: wire.TxStatus{TxID: req.TxID, Protocol: req.Protocol, State: wire.StateInit}}
	tx.started = time.Now().UnixNano()
	a.txns[req.TxID] = tx
	a.order = append(a.order, req.TxID)
	a.spawn(c, tx, protocol.NewCoordTxn(a.cfg, req.TxID, req.Protocol, members, ops), &w)
}

func (a *coordinatorActor) spawn(c *actor.Context, tx *coordTx, fsm *protocol.CoordTxn, w *clientWaiter) {
	deps := a.deps
	deps.started, deps.client = time.Now(), w != nil
	tx.status = fsm.Status()
	tx.pid = a.shards.of(fsm.ID())
	c.Send(tx.pid, newTxn{newTxnActor(deps, fsm, w)})
	a.running++
	if !tx.decided {
		a.undecided++
	}
}

// plan works out which participants a transaction touches and what each
// runs: an operation without a target runs everywhere.
func (a *coordinatorActor) plan(ops []wire.Op) ([]wire.Member, map[string][]wire.Op, error) {
	if len(a.peers) == 0 {
		return nil, nil, fmt.Errorf("no participants configured")
	}
	ids := make([]string, len(a.peers))
	byID := make(map[string]*peerInfo, len(a.peers))
	for i, p := range a.peers {
		ids[i] = p.id()
		byID[ids[i]] = p
	}
	per := map[string][]wire.Op{}
	for _, op := range ops {
		if op.Target == "" {
			for _, id := range ids {
				per[id] = append(per[id], op)
			}
			continue
		}
		if byID[op.Target] == nil {
			return nil, nil, fmt.Errorf("unknown participant %q in %s (cluster: %s)", op.Target, op, a.peerList())
		}
		per[op.Target] = append(per[op.Target], op)
	}
	var members []wire.Member
	for i, p := range a.peers {
		if len(per[ids[i]]) > 0 {
			members = append(members, wire.Member{ID: ids[i], Addr: p.addr})
		}
	}
	return members, per, nil
}

func (a *coordinatorActor) peerList() string {
	ids := make([]string, 0, len(a.peers))
	for _, p := range a.peers {
		id := p.id()
		if id == p.addr {
			id += " (never connected)"
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, ", ")
}

// peerFor finds a member's connection by id, or by address for a
// transaction recovered before its participant reconnected. It runs on
// transaction actors' goroutines: a.peers never changes after start, and
// Peer's methods are safe for concurrent use.
func (a *coordinatorActor) peerFor(m wire.Member) *transport.Peer {
	for _, p := range a.peers {
		if p.id() == m.ID {
			return p.peer
		}
	}
	for _, p := range a.peers {
		if (m.Addr != "" && p.addr == m.Addr) || p.addr == m.ID {
			// By address: a member named by it (it had not yet
			// connected when the transaction began), or a recovered one.
			return p.peer
		}
	}
	return nil
}

// answerQuery tells a participant the outcome of a transaction it is in
// doubt about. Unknown means presumed abort: the coordinator never logged a
// decision for it, so nobody can have committed it. Undecided: the
// coordinator says it is alive, so a 3PC participant does not run its
// termination protocol behind a working coordinator's back.
func (a *coordinatorActor) answerQuery(conn *transport.Conn, txid string) {
	tx := a.txns[txid]
	var answer wire.Message
	switch {
	case tx == nil && (conn.Remote().Role != wire.RoleParticipant || wire.CheckID("transaction id", txid) != nil):
		// Nobody who could act on it asks: answer without logging (a
		// stranger's queries must not cost an fsync each).
		answer = &wire.Decision{TxID: txid, Commit: false, Reason: presumedReason}
	case tx == nil:
		a.presumeAbort(txid, conn.Remote().NodeID)
		fallthrough
	case a.presumed[txid] != nil:
		// The abort is being logged: answered once it is durable.
		a.presumed[txid] = append(a.presumed[txid], func(d *wire.Decision) {
			_ = conn.Send(d)
			node.TraceMsg(a.deps.trace, trace.Send, conn.Remote().NodeID, d)
		})
		return
	case tx.pid != nil:
		// Running: the transaction knows whether phase two has begun.
		a.engine.Send(tx.pid, txnMsg{id: txid, msg: inbound{conn: conn, msg: &wire.Query{TxID: txid, From: conn.Remote().NodeID}}})
		return
	case tx.decided:
		answer = &wire.Decision{TxID: txid, Commit: tx.status.State == wire.StateCommitted, Reason: tx.status.Reason}
	default:
		answer = &wire.QueryReply{TxID: txid, From: a.cfg.NodeID, State: tx.status.State}
	}
	_ = conn.Send(answer)
	node.TraceMsg(a.deps.trace, trace.Send, conn.Remote().NodeID, answer)
}

// lateVote handles a vote for a transaction whose actor is gone: a YES voter
// holds locks and must be told the outcome.
func (a *coordinatorActor) lateVote(conn *transport.Conn, v *wire.Vote) {
	if v.Yes {
		a.answerQuery(conn, v.TxID)
	}
}
