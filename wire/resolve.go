package wire

import (
	"context"
	"fmt"
)

// Resolve asks a participant to apply an operator's outcome to a
// transaction it holds in doubt (READY, or PRECOMMITTED in 3PC): a
// heuristic decision, for when the coordinator is gone for good. Only a
// client connection may send it. The participant answers with a
// ResolveResult once the outcome is durable, or at once when it refuses.
type Resolve struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	TxID     string
	Commit   bool // the outcome the operator wants: COMMIT (true) or ABORT
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

// Resolve asks a participant to apply a heuristic outcome (see Resolve). A
// refusal is a ResolveResult with Refused set, not an error; an error is a
// *RemoteError (the node could not handle the request) or a lost
// connection, after which whether the outcome was applied is unknown.
func (cl *Client) Resolve(ctx context.Context, txid string, commit bool) (*ResolveResult, error) {
	id := cl.nextID.Add(1)
	m, err := cl.call(ctx, id, &Resolve{ReqID: id, TxID: txid, Commit: commit})
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *ResolveResult:
		return m, nil
	case *Error:
		return nil, &RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, fmt.Errorf("%w: %s in answer to Resolve", ErrMalformed, m.Type())
}
