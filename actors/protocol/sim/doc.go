// Package sim is a seeded, deterministic simulator for txd's commit
// protocols: one coordinator node (protocol.Coordinator) and N participant
// nodes (protocol.Participant), hosted the way a real host must host them,
// over a simulated network. There are no sockets, goroutines or real
// clocks; a test drives it step by step and reads what happened.
//
//   - network.go: Send and Answer effects become queued messages,
//     delivered in FIFO order or in a seeded random order (Rng). A Filter
//     can drop, duplicate or hold a message; held ones are released later,
//     in any order (delay). Links can be cut (Split, Heal).
//   - wal.go: Persist effects go to the node's log tail; a forced one
//     queues a sync that makes the tail durable and then calls Logged for
//     every forced record in it (group commit). A node with manual sync
//     syncs only when the test calls Sync.
//   - clock.go: SetTimer effects are kept with their due time on the
//     coordinator's injected clock; the test fires them (Fire, Resend,
//     FlushForget), which moves that clock forward.
//   - effects.go: the effects carried out in order, as a host must:
//     Persist to the log, Send and Answer onto the network (an Answer to
//     a client is what the client is told), SetTimer, Reply, Finished.
//   - coordhost.go, parthost.go: what the hosts do with an incoming
//     message; a client's Start (Begin).
//   - crash.go: Crash loses a node's memory, unsynced log tail, timers and
//     pending syncs; Restart rebuilds it from its durable records (the
//     coordinator through protocol.CoordLog, Recover and Recovered).
//   - checks.go: while effects are carried out the simulator checks the
//     protocols' invariants (persist before send, acks before Finished, a
//     client told COMMITTED only once it is durable or certain, no send to
//     nowhere) and fails the test on a violation; CheckAtomic checks that
//     no two members decided differently, CheckTold that what a client
//     was told is what every member applied.
//
// With Transcript set, every event a machine takes in and every effect it
// gives out is written down as it happens; testdata/*.txt are scenarios
// kept that way (TestTranscripts; go test -rewrite regenerates them).
package sim
