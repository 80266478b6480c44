package node

import (
	"time"

	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Tracing: each node records, per transaction, the messages it sends and
// receives and the records it logs (actors/trace), where it already handles
// them: connection readers for what arrives, the actors that send for what
// leaves, the WAL writer (walwriter) for records. TraceReq is answered from the
// connection's reader goroutine (the ring has its own lock), so a trace
// request never queues behind the commit path in an actor's inbox.

// TraceMsg records one message sent to or received from peer.
func TraceMsg(r *trace.Ring, k trace.Kind, peer string, m wire.Message) {
	if r == nil {
		return
	}
	now := time.Now().UnixNano()
	if f, ok := m.(*wire.Forget); ok {
		for _, id := range f.TxIDs {
			r.Add(id, "", trace.Event{Time: now, Kind: k, What: "FORGET", Peer: peer})
		}
		return
	}
	txid, what, detail, proto := trace.Label(m)
	if txid == "" {
		return
	}
	r.Add(txid, proto, trace.Event{Time: now, Kind: k, What: what, Peer: peer, Detail: detail})
}

// AnswerTrace answers a TraceReq with what the ring holds of the transaction.
func AnswerTrace(r *trace.Ring, conn *transport.Conn, self string, role wire.Role, req *wire.TraceReq) {
	if err := wire.CheckID("transaction id", req.TxID); err != nil {
		_ = conn.Send(&wire.Error{ReqID: req.ReqID, Code: wire.ErrBadRequest, Msg: err.Error()})
		return
	}
	_ = conn.Send(traceOf(r, self, role, req))
}

func traceOf(r *trace.Ring, self string, role wire.Role, req *wire.TraceReq) *wire.Trace {
	out := &wire.Trace{ReqID: req.ReqID, NodeID: self, Role: role, TxID: req.TxID, Since: r.Since()}
	events, proto, dropped, ok := r.Get(req.TxID)
	if !ok {
		return out
	}
	out.Protocol, out.Dropped = proto, dropped
	out.Events = make([]wire.TraceEvent, len(events))
	for i, e := range events {
		out.Events[i] = wire.TraceEvent{Time: e.Time, Kind: e.Kind.String(), What: e.What, Peer: e.Peer, Detail: e.Detail, FromLog: e.FromLog}
	}
	return out
}
