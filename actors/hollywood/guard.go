package actors

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
	"unsafe"

	"github.com/anthdm/hollywood/actor"
)

// crashOnPanic wraps every actor. hollywood's own restart path rebuilds an
// actor from its Producer with empty state (and crashes the process after
// MaxRestarts); a commit protocol with half its state gone is worse than no
// process. So a panic is reported and the node stops: it is crash-only, and
// its WAL brings it back consistent.
//
// It wraps the Receiver rather than being a hollywood middleware because
// hollywood builds a middleware chain anew, with two allocations, for every
// message (a sixth of all allocations at 256 clients).
func crashOnPanic(p actor.Producer, logger *slog.Logger, fatal func(error)) actor.Producer {
	return func() actor.Receiver {
		return &panicGuard{next: p(), logger: logger, fatal: fatal}
	}
}

type panicGuard struct {
	next   actor.Receiver
	logger *slog.Logger
	fatal  func(error)
	// sp is where this frame was on the previous message: the same address
	// means the same goroutine, whose stack warmStack already grew (a busy
	// actor handles many messages per goroutine). A match by chance on a
	// new goroutine only skips the warming once.
	sp uintptr
}

func (g *panicGuard) Receive(c *actor.Context) {
	var here byte
	if uintptr(unsafe.Pointer(&here)) != g.sp {
		warmStack()
		// Where the frame is now that the stack has grown (and moved): a
		// fresh goroutine's small stack (often the very one this goroutine
		// started on) will not match it.
		g.sp = uintptr(unsafe.Pointer(&here))
	}
	defer g.recover(c)
	g.next.Receive(c)
}

func (g *panicGuard) recover(c *actor.Context) {
	if v := recover(); v != nil {
		g.logger.Error("actor panicked", "pid", c.PID().String(), "panic", v, "stack", string(debug.Stack()))
		g.fatal(fmt.Errorf("actor %s panicked: %v", c.PID(), v))
	}
}

// lateBy is how late a protocol timer may fire before the actor treats it
// as a sign that the node itself was stopped (SIGSTOP, an overloaded host):
// then the time it measured is not the time the others saw.
func lateBy(due time.Time, d time.Duration) bool {
	return time.Since(due) > max(d/2, 50*time.Millisecond)
}

// afterFunc delivers msg to pid after d, from a timer goroutine. Timers are
// never cancelled by the state machines (a stale one is ignored by its
// sequence number); actors stop the ones they own when they stop.
func afterFunc(e *actor.Engine, pid *actor.PID, d time.Duration, msg any) *time.Timer {
	return time.AfterFunc(d, func() { e.Send(pid, msg) })
}

// ctxDone waits for an actor's stop context, but never forever: hollywood
// (v1.0.5) leaves the context of a second stop request open.
func ctxDone(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
}

// ConfigError is a node configuration that cannot work (a bad id, a bad
// participant list), as opposed to a failure to start (a busy port, a
// corrupt log).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }
