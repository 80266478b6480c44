package actors

import (
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Tracing: each node records, per transaction, the messages it sends and
// receives and the records it logs (actors/trace), where it already handles
// them: connection readers for what arrives, the actors that send for what
// leaves, the WAL writer for records. TraceReq is answered from the
// connection's reader goroutine (the ring has its own lock), so a trace
// request never queues behind the commit path in an actor's inbox.

// traceMsg records one message sent to or received from peer.
func traceMsg(r *trace.Ring, k trace.Kind, peer string, m wire.Message) {
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

// traceRecord records a log record appended (lazy) or made durable (forced)
// at time now.
func traceRecord(r *trace.Ring, rec *protocol.Record, forced bool, now int64) {
	if r == nil || rec.TxID == "" {
		return
	}
	k := trace.Log
	if forced {
		k = trace.Force
	}
	r.Add(rec.TxID, rec.Protocol, trace.Event{Time: now, Kind: k, What: rec.Kind.String(), Detail: recordDetail(rec)})
}

// recordDetail is the reason an ABORT or an abort DECISION carries.
func recordDetail(rec *protocol.Record) string {
	if rec.Kind == protocol.RecAbort || (rec.Kind == protocol.RecDecision && !rec.Commit) {
		return rec.Reason
	}
	return ""
}

// traceReplayed records a record read back from the log at start-up, at the
// time it was appended. The log does not say whether a record was forced;
// the protocol does: PREPARED, COMMIT and DECISION always are, and so are
// a participant's PRECOMMIT and a 3PC coordinator's BEGIN (coordinator3pc.go);
// an ABORT is when the transaction was prepared here (after a NO vote or
// for a transaction never prepared it is lazy); a 2PC BEGIN, the
// coordinator's PRECOMMIT, END and FORGET never are. Records from before times were logged (Time 0) are skipped.
func traceReplayed(r *trace.Ring, rec protocol.Record, coordinator bool) {
	if r == nil || rec.TxID == "" || rec.Time == 0 {
		return
	}
	forced := false
	switch rec.Kind {
	case protocol.RecPrepared, protocol.RecCommit, protocol.RecDecision:
		forced = true
	case protocol.RecPreCommit:
		forced = !coordinator // the coordinator's is lazy (coordinator3pc.go)
	case protocol.RecBegin:
		forced = rec.Protocol == wire.ThreePC // 3PC forces it before PRE-COMMIT goes out
	case protocol.RecAbort:
		forced = r.Has(rec.TxID, trace.Force, protocol.RecPrepared.String())
	}
	k := trace.Log
	if forced {
		k = trace.Force
	}
	r.Add(rec.TxID, rec.Protocol, trace.Event{Time: rec.Time, Kind: k, What: rec.Kind.String(), Detail: recordDetail(&rec), FromLog: true})
}

// answerTrace answers a TraceReq with what the ring holds of the transaction.
func answerTrace(r *trace.Ring, conn *transport.Conn, self string, role wire.Role, req *wire.TraceReq) {
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
