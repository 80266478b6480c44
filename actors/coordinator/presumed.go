package coordinator

import (
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
)

// presumedReason is what a participant asking about a transaction the
// coordinator has no record of is told.
const presumedReason = "presumed abort: the coordinator has no record of it"

// presumeAbort turns "no record of it" into a logged abort before anyone
// hears it (the answers wait in a.presumed until the record is durable).
//
// Presumed abort is only safe if the answer binds: once a participant was
// told ABORT, the coordinator must never commit that id. Transaction ids here
// are chosen by clients and retried (a client whose first try was lost with
// the coordinator's previous process asks again under the same id), so a
// retry would otherwise run the transaction anew, and its PREPARE, on
// another connection, could overtake the abort answer and collect that very
// participant's YES; after a restart the coordinator would not even remember
// having answered. Both happened in the torture test (COMMITTED at one
// participant, ABORTED at the other). With the abort in the log, a retry or a
// later query, in this process or the next, gets ABORTED.
func (a *coordinatorActor) presumeAbort(txid, asker string) {
	st := wire.TxStatus{TxID: txid, State: wire.StateAborted, Reason: presumedReason,
		Participants: map[string]wire.State{}}
	var members []wire.Member
	if wire.CheckID("participant id", asker) == nil {
		st.Participants[asker] = wire.StateAborted
		members = []wire.Member{{ID: asker}}
	}
	tx := &coordTx{status: st, decided: true}
	a.txns[txid] = tx
	a.order = append(a.order, txid)
	a.keepFinished(tx)
	a.presumed[txid] = []func(*wire.Decision){}
	a.deps.wal.Append(walwriter.Entry{ReplyTo: a.self, Rec: protocol.Record{Kind: protocol.RecDecision,
		TxID: txid, Commit: false, Reason: presumedReason, Members: members}})
}

// presumedDurable answers whoever waited for a presumed abort, and ends it in
// the log (lazily: a participant that missed the answer asks again and is
// answered from the log's decision).
func (a *coordinatorActor) presumedDurable(rec protocol.Record) {
	waiting, ok := a.presumed[rec.TxID]
	if !ok || rec.Kind != protocol.RecDecision {
		return
	}
	delete(a.presumed, rec.TxID)
	for _, answer := range waiting {
		answer(&wire.Decision{TxID: rec.TxID, Commit: false, Reason: presumedReason})
	}
	a.deps.wal.Append(walwriter.Entry{Rec: protocol.Record{Kind: protocol.RecEnd, TxID: rec.TxID}})
}
