package actors

import (
	"sync/atomic"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/wire"
)

// Messages that ride on a forced record (protocol.Persist.Then: a YES vote
// on PREPARED, a COMMIT decision and its reply) are sent by the WAL
// flusher the moment the fsync returns, not by the actor once walDurable
// has come back through its inbox. That hop, a fresh goroutine and a
// scheduler wake-up, cost 20-30 µs per record on a 2-core machine
// (BenchmarkCommitPath), on the critical path of every commit.
//
// Routing tables belong to the actor, so the actor resolves where each
// message goes when it appends the record; the flusher only writes. A
// message with no route then, or whose write fails, is left to the actor,
// which sends it the usual way when walDurable arrives.

const (
	thenPending uint32 = iota
	thenSent
	thenWithdrawn
)

// sender is a connection a message can be written to from any goroutine
// (*wire.Conn, *wire.Peer).
type sender interface{ Send(wire.Message) error }

// routed is one message and where it goes.
type routed struct {
	via  sender
	to   string // for the trace: a node id, or "client"
	msg  wire.Message
	orig protocol.Send // the machine's effect, for the actor's fallback (zero for a client reply)
	// crash is the shell's crash point just before this message (a
	// coordinator dying between two COMMITs); nil without crash points.
	crash func()
}

// durableSends is what rides on one forced record.
type durableSends struct {
	state atomic.Uint32
	crash func()    // the shell's crash point "record durable, nothing sent yet"
	first riderLog  // runs before anything is sent (the coordinator's outcome log line); may be nil
	out   []routed  // sent by the flusher
	one   [1]routed // out's storage when one message rides (a vote), spared an allocation
	late  []protocol.Send
	// failed is written by the flusher before it sends walDurable and read
	// by the actor after it receives it, so it needs no lock.
	failed []routed
	trace  *trace.Ring
}

// riderLog is called on the flusher just before the riders leave.
type riderLog interface{ beforeRiders() }

// deliver is the flusher's part, right after the fsync: the crash point,
// then the messages, unless the actor withdrew them first.
func (d *durableSends) deliver() {
	if d.crash != nil {
		d.crash()
	}
	if !d.state.CompareAndSwap(thenPending, thenSent) {
		return
	}
	if d.first != nil {
		d.first.beforeRiders()
	}
	for _, r := range d.out {
		if r.crash != nil {
			r.crash()
		}
		if err := r.via.Send(r.msg); err != nil {
			d.failed = append(d.failed, r)
			continue
		}
		traceMsg(d.trace, trace.Send, r.to, r.msg)
	}
}

// withdraw is the actor's part when the machine takes the messages back:
// false if they are already gone (as if the record had been reported
// durable just before, an order the machine allows).
func (d *durableSends) withdraw() bool {
	return d.state.CompareAndSwap(thenPending, thenWithdrawn)
}

// sent reports whether the flusher has sent them (or is sending them).
//
// Once it has, an answer to them can reach the actor before walDurable
// does: a COMMIT for the YES vote that just left. The state machine must
// still see the record durable before any answer to what rode on it (a
// participant drops a COMMIT that arrives while its PREPARED is pending),
// so the actor holds such messages until walDurable, then hands them on.
func (d *durableSends) sent() bool { return d != nil && d.state.Load() == thenSent }

// leftovers are the machine's messages the flusher did not send (no route
// when appended, or a failed write): the actor sends them its usual way.
func (d *durableSends) leftovers() []protocol.Send {
	out := d.late
	for _, r := range d.failed {
		if r.orig.To != "" {
			out = append(out, r.orig)
		}
	}
	return out
}

// txOf is the transaction a protocol message is about ("" for none, or
// for several: Forget).
func txOf(m wire.Message) string {
	switch m := m.(type) {
	case *wire.Prepare:
		return m.TxID
	case *wire.Vote:
		return m.TxID
	case *wire.Decision:
		return m.TxID
	case *wire.PreCommit:
		return m.TxID
	case *wire.Ack:
		return m.TxID
	case *wire.Query:
		return m.TxID
	case *wire.QueryReply:
		return m.TxID
	}
	return ""
}
