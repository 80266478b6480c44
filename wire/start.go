package wire

// The client's request to run a transaction, and its answer.

// Start asks the coordinator to run a transaction and answer with its outcome.
//
//txd:codec encode decode
type Start struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	TxID     string
	Protocol Protocol
	Ops      []Op `txd:"max=MaxOps,what=operations"`
}

// StartResult is a transaction's outcome, sent once the decision is durable.
//
//txd:codec encode decode
type StartResult struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	TxID     string
	Protocol Protocol
	Outcome  State  // StateCommitted or StateAborted
	Reason   string `txd:"cut=MaxReasonLen"`
}
