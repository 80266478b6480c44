package walwriter

import (
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/wire"
)

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

// TraceReplayed records a record read back from the log at start-up, at the
// time it was appended. The log does not say whether a record was forced;
// the protocol does: PREPARED and COMMIT always are, DECISION is except in
// PARALLEL, and so are a participant's PRECOMMIT, a 3PC coordinator's
// BEGIN (protocol/coordinator3pc.go) and a PARALLEL coordinator's END; an
// ABORT is when the transaction was prepared here (after a NO vote or for a
// transaction never prepared it is lazy, but for a PARALLEL NO);
// a 2PC BEGIN, the coordinator's PRECOMMIT, another END and FORGET never are. Records from before times were logged (Time 0) are skipped.
func TraceReplayed(r *trace.Ring, rec protocol.Record, coordinator bool) {
	if r == nil || rec.TxID == "" || rec.Time == 0 {
		return
	}
	forced := false
	switch rec.Kind {
	case protocol.RecPrepared, protocol.RecCommit:
		forced = true
	case protocol.RecDecision:
		forced = rec.Protocol != wire.Parallel // PARALLEL's is lazy (protocol/coordparallel.go)
	case protocol.RecEnd:
		forced = rec.Protocol == wire.Parallel // forced before its members may forget
	case protocol.RecPreCommit:
		forced = !coordinator // the coordinator's is lazy (protocol/coordinator3pc.go)
	case protocol.RecBegin:
		forced = rec.Protocol == wire.ThreePC // 3PC forces it before PRE-COMMIT goes out
	case protocol.RecAbort:
		forced = rec.Protocol == wire.Parallel || r.Has(rec.TxID, trace.Force, protocol.RecPrepared.String())
	}
	k := trace.Log
	if forced {
		k = trace.Force
	}
	r.Add(rec.TxID, rec.Protocol, trace.Event{Time: rec.Time, Kind: k, What: rec.Kind.String(), Detail: recordDetail(&rec), FromLog: true})
}
