// Package protocol holds txd's commit protocols as pure state machines: no
// sockets, no clocks, no goroutines. Each event (a message, a timer firing, a
// record becoming durable) goes in through a method; the effects the host
// must carry out come back as a slice: records to persist, messages to send,
// timers to set, clients to answer.
//
// The host's contract, as in etcd raft's Ready: a Persist with Force is
// durable before the host calls Logged for it, and the messages that
// depend on a record leave only after it is durable: the machines emit
// them from Logged, or hand them over with the record (Persist.Then) for
// the host to send when its fsync returns, before Logged. So "force
// PREPARED before voting YES" and "force the decision before phase two"
// hold by construction, whatever the host does in between. A host that
// sends a record's Then messages must also let the machine hear Logged
// before any answer to them (a COMMIT answering the vote).
//
// CoordTxn is one transaction on the coordinator (presumed-abort 2PC).
// Participant is a whole participant: store, lock table, transactions.
package protocol
