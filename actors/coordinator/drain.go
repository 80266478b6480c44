package coordinator

import "time"

// drain asks the coordinator actor to admit nothing new and to close done
// once every running transaction is decided (its clients have their
// answer; delivering the decision is recovery's job after a restart).
type drain struct{ done chan struct{} }

func (a *coordinatorActor) drainIfIdle() {
	if a.drained != nil && a.undecided == 0 {
		select {
		case <-a.drained:
		default:
			close(a.drained)
		}
	}
}

// Drain stops admitting transactions (new ones get a "shutdown" error) and
// waits, at most limit, until those in flight are decided, so that their
// clients get their outcome rather than a lost connection. A decision not
// yet delivered, or a transaction still undecided at the deadline, is
// finished by recovery on the next start.
func (n *Node) Drain(limit time.Duration) bool {
	done := make(chan struct{})
	n.engine.Send(n.pid, drain{done: done})
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}
