// Package coordinator hosts the coordinator role on hollywood actors: Start
// replays the coordinator's log and runs the coordinator actor (clients'
// transactions, status and outcome queries, presumed abort, the outcome
// window, Forget), the shards that host each running transaction's state
// machine (protocol.CoordTxn) and carry out its effects, and the router
// that sends what arrives on a connection to the right one.
package coordinator
