package wire

// Trace messages: `txcli trace TXID` asks each node what it recorded of one
// transaction. They are rare (an operator's request), so they use msgpack's
// reflection codec like Status.

// TraceReq asks a node for its trace of one transaction.
type TraceReq struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	TxID     string
}

// Trace event kinds. The strings are part of txcli's JSON contract.
const (
	TraceSend  = "send"  // the node sent What to Peer
	TraceRecv  = "recv"  // the node received What from Peer
	TraceForce = "force" // the node's log record What became durable (fsync)
	TraceLog   = "log"   // the node appended record What without waiting for an fsync (lazy)
)

// TraceEvent is one thing a node did for a transaction.
//
//txd:codec decode
type TraceEvent struct {
	_msgpack struct{} `msgpack:",as_array"`
	Time     int64    // unix nanoseconds, the node's own clock
	Kind     string   // TraceSend, TraceRecv, TraceForce or TraceLog
	What     string   // message ("PREPARE", "VOTE YES", ...) or record kind ("PREPARED", ...)
	Peer     string   // the other node of a message ("client" for a client); "" for records
	Detail   string   `txd:"cut=MaxReasonLen"` // a NO vote's or an abort's reason, if any
	FromLog  bool     // read back from the log at start-up: a record written before the node last started
}

// Trace answers TraceReq. Since is when the node started (unix nanoseconds):
// it recorded messages only from then on; earlier events come from its log
// (FromLog), so messages before Since are unknown. Events are in the order
// the node recorded them. Dropped counts events not kept (a transaction's
// list is bounded).
//
//txd:codec decode
type Trace struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	NodeID   string
	Role     Role
	TxID     string
	Since    int64
	Protocol Protocol     // "" if the node does not know it
	Events   []TraceEvent `txd:"max=MaxTraceEvents,what=trace events"`
	Dropped  int
}
