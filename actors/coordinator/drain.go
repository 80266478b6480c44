package coordinator

import "time"

// Drain stops admitting transactions (new ones get a "shutdown" error) and
// waits, at most limit, until those in flight are decided, so that their
// clients get their outcome rather than a lost connection. A decision not
// yet delivered, or a transaction still undecided at the deadline, is
// finished by recovery on the next start.
func (n *Node) Drain(limit time.Duration) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	dones := make([]chan struct{}, len(n.shards))
	for i, pid := range n.shards {
		dones[i] = make(chan struct{})
		n.engine.Send(pid, drain{done: dones[i]})
	}
	for _, done := range dones {
		select {
		case <-done:
		case <-deadline.C:
			return false
		}
	}
	return true
}
