package node

import "time"

// LateBy reports whether a protocol timer due at due, set for d, fired so
// late that the actor should take it as a sign that the node itself was
// stopped (SIGSTOP, an overloaded host): then the time it measured is not
// the time the others saw.
func LateBy(due time.Time, d time.Duration) bool {
	return time.Since(due) > max(d/2, 50*time.Millisecond)
}
