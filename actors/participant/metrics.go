package participant

import (
	"log/slog"
	"time"

	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/node"
)

// metricsReply answers a scrape: the transactions in doubt and the
// connections, accepted ones (the coordinator's, peers asking about an
// outcome) and our own dialed ones.
func (a *participantActor) metricsReply() node.MetricsReply {
	r := node.MetricsReply{Count: a.fsm.InDoubt(), Oldest: a.doubts.Oldest()}
	for id, c := range a.conns {
		up := true
		select {
		case <-c.Done():
			up = false
		default:
		}
		r.Peers = append(r.Peers, metrics.Peer{ID: id, Up: up})
	}
	for addr, p := range a.dialed {
		id := p.Remote().NodeID
		if id == "" {
			id = addr // never reached yet
		}
		r.Peers = append(r.Peers, metrics.Peer{ID: id, Out: true, Up: p.Connected()})
	}
	return r
}

// registerMetrics wires a participant's metrics.
func (n *Node) registerMetrics(m *metrics.Node, logger *slog.Logger) {
	running := func() (int, error) {
		r, err := node.PollMetrics(n.engine, n.pid)
		return r.Count, err
	}
	node.RegisterMetrics(m, logger, running, n.Stats, n.Wire, func() ([]metrics.Peer, error) {
		r, err := node.PollMetrics(n.engine, n.pid)
		return r.Peers, err
	})
	if err := m.WatchOldestInDoubt(func() (time.Duration, error) {
		r, err := node.PollMetrics(n.engine, n.pid)
		return r.Oldest, err
	}); err != nil {
		logger.Error("metrics not registered", "err", err)
	}
}
