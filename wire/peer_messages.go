package wire

// The messages nodes exchange to run the commit protocols.

// Member names one participant of a transaction and where it listens, so a
// participant can reach its peers (termination protocols) and the coordinator.
//
//txd:codec encode decode
type Member struct {
	_msgpack struct{} `msgpack:",as_array"`
	ID       string
	Addr     string
}

// Prepare is 2PC's PREPARE and 3PC's CAN-COMMIT. Ops are the operations this
// participant runs; Members lists every participant of the transaction.
//
//txd:codec encode decode
type Prepare struct {
	_msgpack  struct{} `msgpack:",as_array"`
	TxID      string
	Protocol  Protocol
	Ops       []Op     `txd:"max=MaxOps,what=operations"`
	Coord     string   // coordinator node id
	CoordAddr string   // where the coordinator listens, for outcome queries
	Members   []Member `txd:"max=MaxMembers,what=members"`
}

// Vote answers Prepare. Reason explains a NO. Known, on a NO, is the
// outcome the participant already holds for this id (COMMITTED or ABORTED)
// from an earlier run of it: the PREPARE is a retry of an id its
// coordinator has forgotten. Empty otherwise (and from older senders).
// Protocol is set by a PARALLEL participant only: a coordinator with no
// record of the id must then not presume abort (a vote, not the
// coordinator, decides a PARALLEL transaction).
//
//txd:codec encode decode
type Vote struct {
	_msgpack struct{} `msgpack:",as_array"`
	TxID     string
	From     string
	Yes      bool
	Reason   string `txd:"cut=MaxReasonLen"`
	Known    State
	Protocol Protocol
}

// Decision carries the outcome: 2PC COMMIT/ABORT, 3PC DO-COMMIT/ABORT.
//
//txd:codec encode decode
type Decision struct {
	_msgpack struct{} `msgpack:",as_array"`
	TxID     string
	Commit   bool
	Reason   string `txd:"cut=MaxReasonLen"`
}

// PreCommit is 3PC's second phase.
//
//txd:codec encode decode
type PreCommit struct {
	_msgpack struct{} `msgpack:",as_array"`
	TxID     string
}

// Ack confirms a Decision (State final) or a PreCommit (StatePrecommitted).
// Heuristic says State was applied by an operator (txcli resolve), not by
// the protocol: if it contradicts the decision, that is heuristic damage.
//
//txd:codec encode decode
type Ack struct {
	_msgpack  struct{} `msgpack:",as_array"`
	TxID      string
	From      string
	State     State
	Heuristic bool
}

// Query asks what the receiver knows about a transaction. Protocol is
// set by a PARALLEL participant only, as on Vote: its coordinator must
// not presume abort for it.
//
//txd:codec encode decode
type Query struct {
	_msgpack struct{} `msgpack:",as_array"`
	TxID     string
	From     string
	Protocol Protocol
}

// Forget tells a participant that the coordinator logged END for these
// transactions: every member that had to learn the outcome acknowledged it,
// so nobody can be in doubt about them any more and they can be dropped.
//
//txd:codec decode
type Forget struct {
	_msgpack struct{} `msgpack:",as_array"`
	TxIDs    []string `txd:"max=MaxForgetIDs,what=transaction ids"`
}

// QueryReply answers Query with the sender's state of the transaction
// (StateUnknown: never heard of it).
//
//txd:codec encode decode
type QueryReply struct {
	_msgpack struct{} `msgpack:",as_array"`
	TxID     string
	From     string
	State    State
}
