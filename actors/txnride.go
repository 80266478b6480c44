package actors

import (
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/internal/crashpoint"
	"github.com/txd/txd/wire"
)

// A 2PC COMMIT decision carries its reply and phase two with it
// (protocol.CoordTxn.decide): the WAL flusher answers the clients and sends
// COMMIT to the members the moment the decision is durable
// (durablesends.go). These are the transaction's two halves of that.

// rideReply remembers, between ride and landed, the reply that rode on a
// record and how many waiters it was addressed to (res nil: none).
type rideReply struct {
	reply   protocol.Reply
	res     *wire.StartResult
	waiters int
}

// ride prepares e's Then for the flusher. Decisions go on the members'
// connections (a member without one is left to landed); the reply goes to
// the clients waiting now (one that retries meanwhile is answered by
// landed). Nothing is registered for retransmission yet: the retry timer
// must not send a decision that is not durable.
func (t *txnActor) ride(e protocol.Persist) *durableSends {
	d := &durableSends{trace: t.deps.trace, out: make([]routed, 0, len(e.Then)+len(t.waiters))}
	if crashpoint.Enabled {
		rec := e.Rec
		d.crash = func() { txnCrashLogged(rec) }
	}
	for i, th := range e.Then {
		switch th := th.(type) {
		case protocol.Send:
			var crash func()
			if crashpoint.Enabled {
				then, i := e.Then, i
				crash = func() { txnCrashBefore(then, i) }
			}
			p := t.deps.peers(wire.Member{ID: th.To, Addr: th.Addr})
			if dl := t.pending[th.To]; dl != nil && dl.peer != nil {
				p = dl.peer
			}
			if p != nil {
				d.out = append(d.out, routed{via: p, to: th.To, msg: th.Msg, orig: th, crash: crash})
			} else {
				d.late = append(d.late, th)
			}
		case protocol.Reply:
			res := t.result(th)
			t.riding = rideReply{reply: th, res: res, waiters: len(t.waiters)}
			d.first = t
			for _, w := range t.waiters {
				out := *res
				out.ReqID = w.reqID
				d.out = append(d.out, routed{via: w.conn, to: "client", msg: &out})
			}
		}
	}
	t.then = d
	return d
}

// beforeRiders logs and counts the outcome riding on the decision record,
// on the flusher, before the client hears it. It reads only what ride set
// before appending the record (the append's lock orders the two) and
// landed clears after walDurable.
func (t *txnActor) beforeRiders() {
	t.noteOutcome(t.riding.reply, t.riding.res.Protocol)
}

// landed is the rest, once walDurable says the flusher sent them: the
// decisions are registered for retransmission as if sent here (and those
// it could not send are sent now), and the reply's bookkeeping is done.
func (t *txnActor) landed(d *durableSends) {
	failed := func(r routed) bool {
		for _, f := range d.failed {
			if f.msg == r.msg {
				return true
			}
		}
		return false
	}
	for _, r := range d.out {
		if r.orig.To != "" && !failed(r) {
			t.track(r.orig)
		}
	}
	for _, s := range d.leftovers() {
		t.send(s)
	}
	if rr := t.riding; rr.res != nil {
		t.riding = rideReply{}
		t.replied = rr.res
		for _, w := range t.waiters[rr.waiters:] {
			out := *rr.res
			out.ReqID = w.reqID
			_ = w.conn.Send(&out)
			traceMsg(t.deps.trace, trace.Send, "client", &out)
		}
		t.waiters = nil
		t.decided(rr.reply)
	}
}
