package coordinator

import (
	"log/slog"
	"time"

	"github.com/txd/txd/actors/incident"
)

// reachEvery is how often the coordinator looks at its participants'
// connections for the unreachable-member log lines.
const reachEvery = 250 * time.Millisecond

// watchReach logs, once each, a participant becoming unreachable (its
// connection down and a dial failed: refused, timed out, handshake
// refused) and reachable again, with how long it was away, until stop is
// closed. A blip that a redial mends at once logs nothing here.
func (n *Node) watchReach(inc *incident.Log, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(reachEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for _, p := range n.cluster {
			key := "unreachable/" + p.addr
			if p.peer.Connected() {
				inc.End(key, "participant reachable again", "participant", p.id(), "addr", p.addr)
			} else if err := p.peer.Unreachable(time.Time{}); err != nil {
				inc.Begin(key, slog.LevelWarn, "participant unreachable", "participant", p.id(), "addr", p.addr, "err", err.Error())
			}
		}
	}
}
