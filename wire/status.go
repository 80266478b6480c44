package wire

// The status messages: what a node reports of itself to txcli status and
// txcli watch. Their rarer decoders are hand-written in codec_status.go.

// StatusReq asks a node for its state.
//
//txd:codec encode decode
type StatusReq struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
}

// PeerStatus is one participant as the coordinator sees it.
//
//txd:codec decode
type PeerStatus struct {
	_msgpack  struct{} `msgpack:",as_array"`
	ID        string
	Addr      string
	Connected bool
}

// TxStatus is one transaction as a node sees it. Participants is set by the
// coordinator only: each participant's state as far as it knows.
//
//txd:codec decode(states *int)
type TxStatus struct {
	_msgpack     struct{} `msgpack:",as_array"`
	TxID         string
	Protocol     Protocol
	State        State
	Reason       string           `txd:"cut=MaxReasonLen"`
	Participants map[string]State `txd:"decode=decodeStates(states)"`
	// Added for txcli watch (older nodes send neither: zero). Unix
	// nanoseconds on the coordinator's clock; coordinator only.
	Started int64 // when this coordinator process began it; 0: resumed from the log after a restart
	Decided int64 // when its decision was durable (or, resumed, read from the log); 0: undecided
	// Heuristic: on a participant, the outcome was applied by an operator
	// (txcli resolve), not learned from the protocol; on the coordinator,
	// some participant acknowledged such an outcome.
	Heuristic bool
	// Damage: a heuristic outcome contradicts the protocol's decision
	// (Reason says which); the transaction is not atomic.
	Damage bool
	// Added for txcli resolve and the cluster view without a coordinator;
	// participant only (older nodes send neither: zero). Prepared: unix
	// nanoseconds on the participant's clock when its PREPARED record was
	// durable, so in doubt since then while READY or PRECOMMITTED (0:
	// unknown). On a participant, Decided is when its outcome record was
	// durable. Doubt is set while it is in doubt.
	Prepared int64
	Doubt    *TxDoubt `txd:"decode=decodeDoubt(states)"`
}

// TxDoubt is whom txcli resolve must ask about a transaction a
// participant holds in doubt before it decides for the coordinator: the
// coordinator and every member.
type TxDoubt struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Coord     string
	CoordAddr string
	Members   []Member
}

// Status is a node's answer to StatusReq.
//
//txd:codec decode
type Status struct {
	_msgpack     struct{} `msgpack:",as_array"`
	ReqID        uint64
	NodeID       string
	Role         Role
	Store        map[string]string `txd:"max=MaxStatusKeys,what=store keys"` // participant only
	Participants []PeerStatus      `txd:"max=MaxMembers,what=participants"`  // coordinator only
	Transactions []TxStatus        `txd:"decode=decodeTransactions"`
	// Added for txcli watch; coordinator only (older nodes: zero). The
	// counts are of decisions this process reached since Boot: they only
	// grow, so a watcher's rates are exact however many transactions
	// finish between two polls. Now lets it age transactions on the
	// coordinator's clock, not its own.
	Committed uint64
	Aborted   uint64
	Boot      int64 // unix nanoseconds: when this coordinator process started
	Now       int64 // unix nanoseconds: when this status was made
	// Added with reads (GetReq, ScanReq); participant only (older nodes:
	// zero, with their whole store in Store). The store's size, kept as it
	// changes: its keys, and the bytes of its keys and of its values.
	// StoreTruncated: the store is larger than a status carries
	// (MaxStatusInlineKeys, MaxStatusInlineBytes), so Store is empty.
	Keys           uint64
	KeyBytes       uint64
	ValueBytes     uint64
	StoreTruncated bool
}
