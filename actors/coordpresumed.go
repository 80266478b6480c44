package actors

import "github.com/txd/txd/wire"

// presumedAbort is the reason a coordinator gives for a transaction it has
// no record of.
const presumedAbort = "presumed abort: the coordinator has no record of it"

// presumeAborted records that the coordinator told asker an unknown
// transaction aborted, so that the answer holds: a client that starts the
// same id again (its first try was lost with a crashed coordinator) gets
// ABORTED instead of a new run. A new run could commit: the asker, still
// READY from the lost run, would vote YES to its PREPARE and then abort on
// this answer (found with the crash point wal.batch.synced on the
// coordinator). The record lives in memory and leaves with the outcome
// window; the participants make it durable by logging the ABORT.
func (a *coordinatorActor) presumeAborted(txid, asker string) {
	st := wire.TxStatus{TxID: txid, State: wire.StateAborted, Reason: presumedAbort,
		Participants: map[string]wire.State{}}
	if asker != "" {
		st.Participants[asker] = wire.StateAborted
	}
	a.txns[txid] = &coordTx{status: st, decided: true}
	a.order = append(a.order, txid)
	a.ended(st) // the asker may forget it once aborted, like any ended transaction
}
