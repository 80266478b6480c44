package hollywood

// Why this exists: hollywood (v1.0.5) runs an idle actor's inbox on a fresh
// goroutine each time a message wakes it, and a fresh goroutine starts with
// a 2 KiB stack. The commit path (state machine, encoders, direct socket
// writes) needs more, so without this the runtime grows the stack through
// 4, 8 and 16 KiB, each time copying every frame and decoding each frame's
// pointer maps, a large share of the CPU at one client (docs/decisions.md,
// "Warm stacks"). One call with a big frame while the stack is still
// shallow makes the runtime grow it to 16 KiB at once, with five frames to
// move instead of thirty.

// warmStackBytes is the frame of warmStack: with the few frames below it,
// it makes the runtime pick a 16 KiB stack, the largest size it caches per
// processor (a bigger one would come from the heap on every activation).
const warmStackBytes = 12 << 10

// warmStack grows the calling goroutine's stack, if it is small, to fit
// the commit path. On a stack already big enough it costs a call and
// clearing its frame.
//
//go:noinline
func warmStack() {
	var pad [warmStackBytes]byte
	keepFrame(pad[:])
}

// keepFrame keeps warmStack's frame from being optimised away; it does
// nothing, and the frame does not escape to the heap.
//
//go:noinline
func keepFrame([]byte) {}
