package actors

import (
	"github.com/txd/txd/actors/metrics"
)

// metricsReply answers a scrape: the transactions in doubt and the
// connections, accepted ones (the coordinator's, peers asking about an
// outcome) and our own dialed ones.
func (a *participantActor) metricsReply() metricsReply {
	r := metricsReply{count: a.fsm.InDoubt()}
	for id, c := range a.conns {
		up := true
		select {
		case <-c.Done():
			up = false
		default:
		}
		r.peers = append(r.peers, metrics.Peer{ID: id, Up: up})
	}
	for addr, p := range a.dialed {
		id := p.Remote().NodeID
		if id == "" {
			id = addr // never reached yet
		}
		r.peers = append(r.peers, metrics.Peer{ID: id, Out: true, Up: p.Connected()})
	}
	return r
}
