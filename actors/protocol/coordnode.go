package protocol

import (
	"time"

	"github.com/txd/txd/wire"
)

// CoordinatorConfig is what a coordinator node's state machine needs.
type CoordinatorConfig struct {
	CoordConfig
	Retry       time.Duration // retransmission interval for unanswered phase messages
	MaxInflight int           // running transactions before new ones are refused as busy
	// Inflight, when set, counts running transactions together with the
	// host's other Coordinators, against its bound instead of MaxInflight.
	Inflight *Inflight
	// The outcome window: finished transactions remembered (a retried id
	// gets its outcome back; status shows the newest), at most Keep of
	// them and about KeepBytes of memory (0: no byte bound).
	Keep      int
	KeepBytes int64
	Now       func() time.Time // the clock; tests and the simulator bring their own
}

// Coordinator is a whole coordinator node's protocol state, as Participant
// is a participant's: every transaction it runs or remembers (CoordTxn),
// the retries of an id, presumed abort, the answers to participants'
// queries, retransmission, the outcome window and Forget batching. Like
// CoordTxn it is a pure state machine: each method takes one event and
// returns the effects the host must carry out, in order.
//
// A host may run several Coordinators over one log, each for the ids that
// hash to it: every rule here is about one id at a time, so a retry, a
// query and a presumed abort of an id all meet in the same Coordinator.
type Coordinator struct {
	cfg           CoordinatorConfig
	txns          map[string]*CoordTxn
	order         []*CoordTxn // oldest first; finished ones leave from the front (coordwindow.go)
	running       int         // started and not finished
	undecided     int         // running, and their clients have no outcome yet
	finished      int         // finished entries in order
	finishedBytes int64       // their estimated memory (outcomeCost)
	forget        map[string][]string
	forgetDue     bool // a TimerForget is set
	draining      bool
	committed     uint64 // decisions taken by this run, for status
	aborted       uint64
	recovering    []*CoordTxn // from Recover, started by Recovered
}

// From is who sent a message, as the host knows it.
type From struct {
	Conn Origin // the connection it came on: answers to it go back there
	// Node is the sender's id from its handshake when it is a participant;
	// "" for anyone else (a client, a stranger).
	Node string
	// Alias is the address a participant was configured by, when it was
	// configured by address alone and its handshake has since said it is
	// the sender (the message's From for a reply, Node for a query): a
	// transaction begun before that names the member by its address
	// (CoordTxn.memberOf).
	Alias string
}

// hosting is what the Coordinator keeps of a transaction besides its
// protocol state.
type hosting struct {
	waiters     []waiter         // who waits for the outcome
	replied     wire.Message     // the clients' answer once settled (StartResult, or Error for a too-old id)
	pending     map[string]*Send // member → its unanswered phase message (coordresend.go)
	resendSeq   uint64           // the current TimerResend's Seq
	resendArmed bool             // a TimerResend is set
	began       time.Time        // when it started, or was recovered, here
	client      bool             // a client started it on this run (its latency is measured)
	decided     bool             // its clients' outcome is settled
	finished    bool             // needs nothing more; in the outcome window
	presumed    bool             // a presumed abort whose record is not durable yet (coordquery.go)
	seen        int64            // when it entered this Coordinator (unix ns), for merging statuses
	startedAt   int64            // unix ns; 0 for one recovered from the log
	decidedAt   int64            // unix ns; 0 while undecided
	cost        int64            // once finished: its estimated memory (outcomeCost)
	digest      uint64           // the client's request (opsDigest), to tell a retry from a reused id (logged in BEGIN); 0: not known
}

// waiter is a request waiting for a transaction's outcome: a client's
// Start (asker "") or a participant's query (asker its id).
type waiter struct {
	to    Origin
	reqID uint64
	asker string
}

// forgetBatch is how many ended transactions make a member's Forget go at
// once; otherwise the gathered lists go every forgetEvery.
const (
	forgetBatch = 256
	forgetEvery = 100 * time.Millisecond
)

// NewCoordinator returns a coordinator knowing no transaction; hand it the
// log's with Recover, then start them with Recovered.
func NewCoordinator(cfg CoordinatorConfig) *Coordinator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Keep < 1 {
		cfg.Keep = 1
	}
	if cfg.Inflight == nil {
		cfg.Inflight = NewInflight(cfg.MaxInflight)
	}
	return &Coordinator{cfg: cfg, txns: map[string]*CoordTxn{}, forget: map[string][]string{}}
}

// Vote handles a participant's vote. One for a transaction no longer
// running is answered like a query if it is a YES: that voter holds locks.
func (c *Coordinator) Vote(from From, v *wire.Vote) []Effect {
	t := c.txns[v.TxID]
	if t == nil || t.node.finished {
		if v.Yes {
			return c.Query(from, &wire.Query{TxID: v.TxID, From: v.From, Protocol: v.Protocol})
		}
		return nil
	}
	if id := t.memberOf(v.From, from.Alias); id != v.From {
		cp := *v
		cp.From = id
		v = &cp
	}
	t.answered(v.From, func(p wire.Message) bool { _, ok := p.(*wire.Prepare); return ok })
	return c.run(t, t.Vote(v))
}

// Ack handles a participant's acknowledgement of PRE-COMMIT or of the
// decision. One for a finished transaction needs nothing.
func (c *Coordinator) Ack(from From, a *wire.Ack) []Effect {
	t := c.txns[a.TxID]
	if t == nil || t.node.finished {
		return nil
	}
	if id := t.memberOf(a.From, from.Alias); id != a.From {
		cp := *a
		cp.From = id
		a = &cp
	}
	t.answered(a.From, func(p wire.Message) bool {
		switch p.(type) {
		case *wire.PreCommit:
			return true // any answer: the state machine decides what it means
		case *wire.Decision:
			return a.State.Final()
		}
		return false
	})
	var eff []Effect
	if d, out, _ := t.Decided(); d && a.State.Final() && a.State != out {
		eff = append(eff, Contradiction{TxID: a.TxID, Member: a.From, State: a.State, Decision: out, Heuristic: a.Heuristic})
	}
	return append(eff, c.run(t, t.Ack(a))...)
}

// QueryReply handles a participant's answer to a recovered 3PC
// transaction's query.
func (c *Coordinator) QueryReply(from From, r *wire.QueryReply) []Effect {
	t := c.txns[r.TxID]
	if t == nil || t.node.finished {
		return nil
	}
	if id := t.memberOf(r.From, from.Alias); id != r.From {
		cp := *r
		cp.From = id
		r = &cp
	}
	t.answered(r.From, func(p wire.Message) bool { _, ok := p.(*wire.Query); return ok })
	return c.run(t, t.QueryReply(r))
}

// Logged reports that a forced record is durable.
func (c *Coordinator) Logged(rec Record) []Effect {
	t := c.txns[rec.TxID]
	switch {
	case t == nil:
		return nil
	case t.node.presumed:
		return c.presumedDurable(t, rec)
	case t.node.finished && t.parallel() && rec.Kind == RecEnd:
		return c.queueForget(t, nil) // coordparallel.go: its END is forced
	case t.node.finished:
		return nil
	}
	return c.run(t, t.Logged(rec))
}

// Unreachable: the host found a member of a running transaction down (see
// Send.Since).
func (c *Coordinator) Unreachable(txid, member, why string) []Effect {
	t := c.txns[txid]
	if t == nil || t.node.finished {
		return nil
	}
	return c.run(t, t.Unreachable(member, why))
}

// Timer handles a timer set by an earlier SetTimer, handed back as it was.
// A transaction's protocol timer that fires late (the node was paused) is
// set again for a full interval: answers that arrived meanwhile may still
// be queued behind it, and acting on the silence could, say, commit a 3PC
// transaction over participants that aborted while we slept.
func (c *Coordinator) Timer(tm SetTimer) []Effect {
	if tm.Kind == TimerForget {
		return c.flushForget()
	}
	t := c.txns[tm.TxID]
	if t == nil || t.node.finished {
		return nil
	}
	switch tm.Kind {
	case TimerResend:
		return c.resend(t, tm.Seq)
	case TimerPhase:
		if tm.Seq != t.seq {
			return nil
		}
		if now := c.cfg.Now(); now.Sub(tm.Due) > max(tm.After/2, 50*time.Millisecond) {
			tm.Due = now.Add(tm.After)
			return []Effect{tm}
		}
		return c.run(t, t.Timer(tm.Seq))
	}
	return nil
}

// Drain stops admitting transactions: new ones are refused with a
// "shutdown" error. The host waits until Undecided is zero.
func (c *Coordinator) Drain() { c.draining = true }

// Undecided counts running transactions whose clients await an outcome.
func (c *Coordinator) Undecided() int { return c.undecided }

// Running counts transactions started (or recovered) and not finished.
func (c *Coordinator) Running() int { return c.running }

// Txn returns a transaction the coordinator runs or remembers; nil if none.
func (c *Coordinator) Txn(id string) *CoordTxn { return c.txns[id] }

// run carries a transaction's effects up, doing the node's part on the
// way: it keeps the phase messages for retransmission, stamps timers,
// answers the clients once the outcome is settled, and files the
// transaction in the outcome window once it is finished.
func (c *Coordinator) run(t *CoordTxn, effs []Effect) []Effect {
	if len(effs) == 0 {
		return nil
	}
	out := make([]Effect, 0, len(effs)+2)
	for _, e := range effs {
		switch e := e.(type) {
		case Send:
			out = append(out, e)
			out = c.track(t, e, out)
		case SetTimer:
			e.Kind, e.Due = TimerPhase, c.cfg.Now().Add(e.After)
			out = append(out, e)
		case Reply:
			out = c.settle(t, e, out)
		case Finished:
			out = append(out, e)
			out = c.finish(t, out)
		default:
			out = append(out, e)
		}
	}
	return out
}

// memberOf maps the sender of a reply to the member it answers for: a
// participant configured by address alone is named by that address in a
// transaction begun before its handshake told its id, and its replies
// carry the id (alias is that address). Unmapped, they would be dropped,
// and the transaction would abort on a vote timeout although everyone
// voted YES.
func (t *CoordTxn) memberOf(id, alias string) string {
	if _, ok := t.state[id]; ok || alias == "" {
		return id
	}
	if _, ok := t.state[alias]; ok {
		return alias
	}
	return id
}
