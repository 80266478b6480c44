package coordinator

import (
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/incident"
	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
)

// shard is an actor hosting one protocol.Coordinator: every rule of the
// coordinator's protocol is there, and the shard only moves messages in
// and carries the effects out (effects.go). A node runs one shard per
// core, each for the transaction ids that hash to it (router.go), so
// independent transactions run in parallel, while one id's Start, retries,
// votes, acks and queries all meet in one state machine, in order.
//
// Shards rather than a hollywood actor per transaction: see
// docs/design.md.
type shard struct {
	host      *host
	core      *protocol.Coordinator
	recovered []protocol.LoggedTx // this shard's part of the log at start-up
	self      *actor.PID
	engine    *actor.Engine
	timers    map[string][]*time.Timer // by transaction ("": the Forget timer); stopped when it finishes
	drained   chan struct{}            // set by drain: closed once nothing is undecided
}

// host is what every shard of a node shares: read-only after start, or
// safe for concurrent use.
type host struct {
	nodeID  string
	wal     *walwriter.Writer
	cluster cluster
	logger  *slog.Logger
	trace   *trace.Ring
	metrics *metrics.Node // nil: off
	// incidents: what an operator must act on, once each way (reach.go).
	incidents *incident.Log
}

// firing is a timer the core set, handed back to it.
type firing struct{ tm protocol.SetTimer }

// statusAsk asks a shard for its part of the node's status.
type statusAsk struct{ reply chan<- protocol.CoordStatus }

// drain asks a shard to admit nothing new and to close done once every
// running transaction is decided (its clients have their answer;
// delivering the decision is recovery's job after a restart).
type drain struct{ done chan struct{} }

func (s *shard) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case inbound:
		s.inbound(m)
	case walwriter.Durable:
		crashLogged(m.Rec)
		s.run(s.core.Logged(m.Rec))
	case firing:
		if m.tm.Kind == protocol.TimerForget {
			delete(s.timers, "")
		}
		s.run(s.core.Timer(m.tm))
	case statusAsk:
		m.reply <- s.core.Status(statusFinished) // buffered for this one answer
	case drain:
		s.core.Drain()
		s.drained = m.done
		s.drainIfIdle()
	case actor.Started:
		s.self, s.engine = c.PID(), c.Engine()
		s.timers = map[string][]*time.Timer{}
		s.recover()
	case actor.Stopped:
		for _, ts := range s.timers {
			for _, t := range ts {
				t.Stop()
			}
		}
	}
}

// inbound hands a client's or a participant's message to the core.
func (s *shard) inbound(m inbound) {
	switch msg := m.msg.(type) {
	case *wire.Start:
		s.run(s.core.Start(m.from, msg, s.host.cluster.members()))
	case *wire.Vote:
		s.run(s.core.Vote(m.from, msg))
	case *wire.Ack:
		s.run(s.core.Ack(m.from, msg))
	case *wire.QueryReply:
		s.run(s.core.QueryReply(m.from, msg))
	case *wire.Query:
		s.run(s.core.Query(m.from, msg))
	}
}

// recover hands the core this shard's transactions from the log and
// restarts the unfinished ones: a decision without END is delivered again;
// no decision means abort (2PC) or asking the participants (3PC).
func (s *shard) recover() {
	for _, r := range s.recovered {
		s.core.Recover(r)
		if !r.Ended {
			s.host.logger.Debug("recovering transaction", "tx", r.ID, "decided", r.Decided, "commit", r.Commit)
		}
	}
	s.recovered = nil
	s.run(s.core.Recovered())
}

// setTimer arms a timer the core asked for.
func (s *shard) setTimer(tm protocol.SetTimer) {
	t := hollywood.AfterFunc(s.engine, s.self, tm.After, firing{tm: tm})
	s.timers[tm.TxID] = append(s.timers[tm.TxID], t)
}

// stopTimers releases a finished transaction's timers: the core would
// ignore them, and a vote timeout would otherwise hold its memory for
// seconds.
func (s *shard) stopTimers(txid string) {
	for _, t := range s.timers[txid] {
		t.Stop()
	}
	delete(s.timers, txid)
}

func (s *shard) drainIfIdle() {
	if s.drained != nil && s.core.Undecided() == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}
