package participant

import (
	"log/slog"
	"net"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/incident"
	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// inbound is a request that arrived on a connection, for the participant actor.
type inbound struct {
	conn *transport.Conn
	msg  wire.Message
}

// connClosed tells the participant actor a connection ended.
type connClosed struct{ conn *transport.Conn }

// peerUp tells the participant actor its own connection to addr is up.
type peerUp struct{ addr string }

// outboxMax bounds what waits for one dialed connection to come up: the
// protocol retries anything that matters, so old messages may be dropped.
const outboxMax = 256

// partTimer is a participant protocol timer firing.
type partTimer struct {
	txid  string
	seq   uint64
	due   time.Time
	after time.Duration
}

// participantActor owns a participant's state machine (store, locks,
// transactions) and carries out its effects: records to its WAL writer,
// messages to the coordinator and peers, timers.
type participantActor struct {
	fsm    *protocol.Participant
	store  *engineStore  // fsm's data, read for clients off the actor (reads.go)
	reads  chan struct{} // a place per client read running (reads.go)
	self   wire.Hello
	wal    *walwriter.Writer
	policy *partPolicy // who may send what (auth.go)
	logger *slog.Logger
	fatal  func(error)
	router transport.Handler
	// conns are live connections by the node id that opened them: the
	// coordinator dials us, so its votes and acks go back on its own conn.
	conns map[string]*transport.Conn
	// dialed are our own connections to nodes that are not connected to us
	// (a restarted participant asking a coordinator for an outcome).
	dialed map[string]*transport.Peer
	// outbox holds messages for a dialed connection that is not up yet: the
	// first query a restarted participant sends its peers must not be lost
	// to the dial, or a termination round would count them as dead.
	outbox map[string][]wire.Message
	timers map[string]*time.Timer
	// wireStats counts what our own dialed connections send.
	wireStats *transport.Stats
	tls       *transport.TLS // nil: plain TCP
	pid       *actor.PID
	engine    *actor.Engine
	clients   clientReplies // txcli resolve requests awaiting their answer (resolve.go)
	refusals  refusalLog    // peers' messages the state machine refused (refuse.go)
	trace     *trace.Ring

	metrics *metrics.Node // counts outcomes and answers scrapes; nil when off

	// Incidents (docs/operations.md, "Logs"): transactions in doubt, the
	// coordinator's connection lost, decisions by the termination protocol.
	incidents *incident.Log
	doubts    *node.Doubts
	// recoveredSince: when the transactions in doubt that the log brought
	// back prepared (unix ns; 0: not recorded).
	recoveredSince map[string]int64
	// termination: the effects being run come from a peer's word or a
	// termination round, not from the coordinator.
	termination bool
}

func (a *participantActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		a.pid, a.engine = c.PID(), c.Engine()
		a.conns = map[string]*transport.Conn{}
		a.dialed = map[string]*transport.Peer{}
		a.outbox = map[string][]wire.Message{}
		a.timers = map[string]*time.Timer{}
		for _, id := range a.fsm.Peers() {
			a.policy.know(id) // members of the transactions the log brought back
		}
		a.recoverDoubts()
		a.run(a.fsm.Recovered())
	case actor.Stopped:
		for _, t := range a.timers {
			t.Stop()
		}
		for _, p := range a.dialed {
			p.Close()
		}
	case inbound:
		a.handle(m.conn, m.msg)
	case connClosed:
		id := m.conn.Remote().NodeID
		if a.conns[id] == m.conn {
			delete(a.conns, id)
		}
		if m.conn.Remote().Role == wire.RoleCoordinator && a.conns[id] == nil {
			a.incidents.Begin("coordinator/"+id, slog.LevelWarn, "coordinator connection lost", "coordinator", id,
				"remote", m.conn.RemoteAddr(), "in_doubt", a.fsm.InDoubt())
		}
	case coordUp:
		a.incidents.End("coordinator/"+m.id, "coordinator connected again", "coordinator", m.id)
	case peerUp:
		if p := a.dialed[m.addr]; p != nil {
			for _, msg := range a.outbox[m.addr] {
				_ = p.Send(msg)
			}
		}
		delete(a.outbox, m.addr)
	case walwriter.Durable:
		partCrashLogged(m.Rec)
		a.run(a.fsm.Logged(m.Rec))
	case node.MetricsPoll:
		c.Respond(a.metricsReply())
	case node.StatusSnap:
		m.Reply <- a.status()
	case partTimer:
		delete(a.timers, m.txid) // fired; the machine sets a new one if it still waits
		coord, _, _ := a.fsm.Parties(m.txid)
		a.doubts.Check(m.txid, coord)
		a.termination = true // a round may decide without the coordinator
		defer func() { a.termination = false }()
		if node.LateBy(m.due, m.after) {
			a.run(a.fsm.TimerLate(m.txid, m.seq))
			return
		}
		a.run(a.fsm.Timer(m.txid, m.seq))
	}
}

func (a *participantActor) handle(conn *transport.Conn, msg wire.Message) {
	if err := a.policy.check(conn.Remote(), msg, a.fsm); err != nil {
		a.refuse(conn, msg, err)
		return
	}
	from, role := conn.Remote().NodeID, conn.Remote().Role
	if role == wire.RoleCoordinator || role == wire.RoleParticipant {
		a.conns[from] = conn // the newest connection from a node wins
	}
	switch m := msg.(type) {
	case *wire.Prepare:
		a.policy.learn(m.Members)
		// The coordinator may advertise only its port: it is at the address
		// its connection comes from.
		m.CoordAddr = fillHost(m.CoordAddr, conn.RemoteAddr())
		a.run(a.fsm.Prepare(m))
	case *wire.Decision:
		// A peer decides only as a 3PC termination leader (protocol/peerword.go).
		if role == wire.RoleParticipant {
			a.runFrom(conn, a.fsm.PeerDecision(from, m))
		} else {
			a.run(a.fsm.Decision(from, m))
		}
	case *wire.PreCommit:
		if role == wire.RoleParticipant {
			a.runFrom(conn, a.fsm.PeerPreCommit(from, m))
		} else {
			a.run(a.fsm.PreCommit(from, m))
		}
	case *wire.Query:
		a.run(a.fsm.Query(m))
	case *wire.QueryReply:
		a.runFrom(conn, a.fsm.QueryReply(m))
	case *wire.Forget:
		a.run(a.fsm.Forget(m.TxIDs))
	case *wire.Resolve:
		a.resolve(conn, m)
	case *wire.GetReq:
		a.get(conn, m)
	case *wire.ScanReq:
		a.scan(conn, m)
	}
}

func (a *participantActor) run(effects []protocol.Effect) {
	for i, eff := range effects {
		partCrashBefore(effects, i)
		switch e := eff.(type) {
		case protocol.Send:
			if v, ok := e.Msg.(*wire.Vote); ok && v.Yes {
				a.doubts.Ready(v.TxID, time.Now())
			}
			a.send(e)
		case protocol.Persist:
			app := walwriter.Entry{Rec: e.Rec, Defer: e.Defer}
			if e.Force {
				app.ReplyTo = a.pid
			}
			a.wal.Append(app)
			a.settled(e.Rec)
			if k := e.Rec.Kind; k == protocol.RecCommit || k == protocol.RecAbort {
				a.metrics.Outcome(e.Rec.Protocol, k == protocol.RecCommit)
				// Settled: the machine ignores this transaction's timer from
				// now on, so free it now rather than when it fires (at
				// 20k commits/s, 2 s of stale timers held ~4 MiB).
				if t := a.timers[e.Rec.TxID]; t != nil {
					t.Stop()
					delete(a.timers, e.Rec.TxID)
				}
			}
		case protocol.SetTimer:
			if old := a.timers[e.TxID]; old != nil {
				old.Stop()
			}
			a.timers[e.TxID] = hollywood.AfterFunc(a.engine, a.pid, e.After,
				partTimer{txid: e.TxID, seq: e.Seq, due: time.Now().Add(e.After), after: e.After})
		case protocol.Answer:
			a.answer(e)
		case protocol.Alarm:
			a.alarm(e)
		}
	}
}

// send delivers a message to a node: on its own connection to us if it has
// one, else on ours to its address.
func (a *participantActor) send(e protocol.Send) {
	node.TraceMsg(a.trace, trace.Send, e.To, e.Msg)
	if c := a.conns[e.To]; c != nil {
		if c.Send(e.Msg) == nil {
			return
		}
		delete(a.conns, e.To)
	}
	if e.Addr == "" {
		a.logger.Debug("no route to node; dropping", "to", e.To, "type", e.Msg.Type().String())
		return
	}
	p := a.dialed[e.Addr]
	if p == nil {
		addr, engine, pid := e.Addr, a.engine, a.pid
		p = transport.NewPeer(transport.PeerConfig{Addr: e.Addr, Self: a.self, Handler: a.router, Logger: a.logger, Stats: a.wireStats, TLS: a.tls,
			OnState: func(_ *transport.Peer, up bool, _ wire.HelloAck) {
				if up {
					engine.Send(pid, peerUp{addr: addr})
				}
			}})
		a.dialed[e.Addr] = p
	}
	if err := p.Send(e.Msg); err != nil {
		if q := a.outbox[e.Addr]; len(q) < outboxMax {
			a.outbox[e.Addr] = append(q, e.Msg)
		}
		a.logger.Debug("not connected yet; queued", "to", e.To, "addr", e.Addr, "err", err)
	}
}

// fillHost completes an advertised ":port" with the host a connection came from.
func fillHost(advertised, remote string) string {
	host, port, err := net.SplitHostPort(advertised)
	if err != nil {
		return advertised
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		rhost, _, err := net.SplitHostPort(remote)
		if err != nil {
			return advertised
		}
		return net.JoinHostPort(rhost, port)
	}
	return advertised
}

// partRouter hands everything that arrives on a participant's connections to
// the participant actor, in arrival order per connection.
type partRouter struct {
	engine *actor.Engine
	pid    *actor.PID
	trace  *trace.Ring
	nodeID string
	desk   *node.StatusDesk
}

func (r *partRouter) HandleMessage(c *transport.Conn, m wire.Message) {
	switch msg := m.(type) {
	case *wire.Ack, *wire.Error:
		// Nothing to do: a peer acknowledging the PRE-COMMIT we sent as a
		// termination leader, or a node explaining why it closes.
		return
	case *wire.TraceReq:
		// Answered here, never waiting behind the commit path.
		node.AnswerTrace(r.trace, c, r.nodeID, wire.RoleParticipant, msg)
		return
	case *wire.StatusReq:
		// Anyone may ask (auth.go); the actor only takes a snapshot.
		r.desk.Request(c, msg.ReqID)
		return
	case *wire.Prepare, *wire.PreCommit, *wire.Decision, *wire.Query, *wire.QueryReply, *wire.Forget:
		node.TraceMsg(r.trace, trace.Recv, c.Remote().NodeID, m)
	}
	// Everything else goes to the actor, which refuses what the sender may
	// not send (auth.go), including types a participant never takes.
	r.engine.Send(r.pid, inbound{conn: c, msg: m})
}

func (r *partRouter) HandleClose(c *transport.Conn, _ error) {
	r.engine.Send(r.pid, connClosed{conn: c})
}
