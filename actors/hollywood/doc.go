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
//   - AfterFunc (timers.go): a protocol timer is a plain time.Timer whose
//     goroutine sends the actor a message through the engine, so the actor
//     that set it owns it and stops it when it stops (or when the outcome
//     that made it moot is logged); a stale one is ignored by its sequence
//     number.
//   - Poison (timers.go): hollywood leaves the context of a second stop
//     request open, so waiting for a stopped actor is bounded.
//
// The measurements behind the guard and the warming are in
// docs/decisions.md ("Warm stacks", "No hollywood middleware").
package hollywood
