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
// CoordTxn is one transaction on the coordinator (presumed-abort 2PC or
// 3PC); Coordinator is a whole coordinator node over them (retries of an
// id, presumed abort, queries, retransmission, Forget, the outcome
// window). Participant is a whole participant: store, lock table,
// transactions.
//
// The unit tests here drive one machine at a time. Package sim runs them
// together over a simulated network, with crashes and restarts; the
// protocols' scenarios and transcripts live there.
package protocol
