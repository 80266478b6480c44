package hollywood

import (
	"time"

	"github.com/anthdm/hollywood/actor"
)

// AfterFunc delivers msg to pid after d, from a timer goroutine. Timers are
// never cancelled by the state machines (a stale one is ignored by its
// sequence number); actors stop the ones they own when they stop.
func AfterFunc(e *actor.Engine, pid *actor.PID, d time.Duration, msg any) *time.Timer {
	return time.AfterFunc(d, func() { e.Send(pid, msg) })
}

// Poison stops the actor pid and waits until it has stopped, but never
// forever: hollywood (v1.0.5) leaves the context of a second stop request
// open.
func Poison(e *actor.Engine, pid *actor.PID) {
	select {
	case <-e.Poison(pid).Done():
	case <-time.After(5 * time.Second):
	}
}
