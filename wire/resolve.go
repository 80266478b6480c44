package wire

// Resolve asks a participant to apply an operator's outcome to a
// transaction it holds in doubt (READY, or PRECOMMITTED in 3PC): a
// heuristic decision, for when the coordinator is gone for good. Only a
// client connection may send it. The participant answers with a
// ResolveResult once the outcome is durable, or at once when it refuses.
//
//txd:codec decode
type Resolve struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	TxID     string
	Commit   bool // the outcome the operator wants: COMMIT (true) or ABORT
	// Force: the operator overrode txcli's checks (the coordinator or a
	// member could still decide or knew the outcome); the participant
	// says so in its heuristic record and logs it as an error. Added
	// later: older clients send three fields.
	Force bool
}

// ResolveResult answers Resolve.
//
//txd:codec decode
type ResolveResult struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	TxID     string
	// State is the transaction's state on the participant after the
	// request (StateUnknown when it does not know the transaction).
	State State
	// Applied: this request applied the outcome (and logged it as
	// heuristic). False with Refused false: it already had that outcome,
	// nothing was done (an idempotent retry).
	Applied bool
	// Refused: nothing was changed; Reason says why (unknown transaction,
	// not in doubt, or already decided the other way).
	Refused   bool
	Heuristic bool   // State was applied by an operator, not by the protocol
	Reason    string `txd:"cut=MaxReasonLen"` // a sentence for the operator
}

func (*Resolve) Type() Type       { return TypeResolve }
func (*ResolveResult) Type() Type { return TypeResolveResult }
