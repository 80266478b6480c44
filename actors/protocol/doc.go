// Package protocol holds txd's commit protocols as pure state machines: no
// sockets, no clocks, no goroutines. Each event (a message, a timer firing, a
// record becoming durable) goes in through a method; the effects the host
// must carry out come back as a slice: records to persist, messages to send,
// timers to set, clients to answer.
//
// The host's contract, as in etcd raft's Ready: a Persist with Force is
// durable before the host calls Logged for it, and the machines emit the
// messages that depend on a record only from Logged. So "force PREPARED
// before voting YES" and "force the decision before phase two" hold by
// construction, whatever the host does in between.
//
// CoordTxn is one transaction on the coordinator (presumed-abort 2PC).
// Participant is a whole participant: store, lock table, transactions.
package protocol
