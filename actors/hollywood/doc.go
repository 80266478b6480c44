// Package hollywood holds what txd does around the hollywood actor library
// (github.com/anthdm/hollywood, v1.0.5) rather than through it: each piece
// works around a behaviour of the library that would otherwise cost a
// commit protocol its state, its speed or a clean stop.
//
//   - CrashOnPanic (guard.go): hollywood restarts a panicking actor from its
//     Producer with empty state, and crashes the process only after
//     MaxRestarts. A commit protocol with half its state gone is worse than
//     no process, so a panic stops the node and its log brings it back. It
//     wraps the Receiver, not a hollywood middleware, because hollywood
//     builds the middleware chain anew, with two allocations, per message.
//   - Stack warming (stackwarm.go, called by the guard): hollywood runs an
//     idle actor's inbox on a fresh goroutine, with a 2 KiB stack, at every
//     wake-up; the commit path needs about 16 KiB, and growing there step
//     by step costs a large share of the CPU at low load. One big frame at
//     the start grows it at once.
//   - AfterFunc (timers.go): hollywood has no timers of its own that an
//     actor can stop; a protocol timer is a time.Timer that sends the actor
//     a message, and the actor stops the ones it owns when it stops.
//   - Poison (timers.go): hollywood leaves the context of a second stop
//     request open, so waiting for a stopped actor is bounded.
//
// The measurements behind the first two are in docs/decisions.md ("Warm
// stacks" and the shard and WAL writer sections it refers to).
package hollywood
