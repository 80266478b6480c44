package coordinator

import (
	"github.com/txd/txd/wire"
)

// A retried id whose earlier run committed, but which has left the
// coordinator's outcome window, is answered "id too old" (an Error with
// code too_old), never ABORTED: see protocol/coordtooold.go.

// tooOldError is the answer to a too-old retry.
func tooOldError(reason string) *wire.Error {
	return &wire.Error{Code: wire.ErrTooOld, Msg: reason}
}

// withReqID is a copy of a client's answer (StartResult or Error) for the
// request reqID.
func withReqID(m wire.Message, reqID uint64) wire.Message {
	switch r := m.(type) {
	case *wire.StartResult:
		out := *r
		out.ReqID = reqID
		return &out
	case *wire.Error:
		out := *r
		out.ReqID = reqID
		return &out
	}
	return m
}

// learnedAddr is the configured address of the participant configured by
// address alone that identified itself as id (txnActor.member); "" if none.
// It runs on transaction shards' goroutines: a.peers never changes after
// start, and Peer's methods are safe for concurrent use.
func (a *coordinatorActor) learnedAddr(id string) string {
	for _, p := range a.peers {
		if p.fixedID == "" && p.peer.Remote().NodeID == id {
			return p.addr
		}
	}
	return ""
}
