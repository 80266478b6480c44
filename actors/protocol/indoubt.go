package protocol

import "github.com/txd/txd/wire"

// InDoubt counts the transactions that voted YES and do not know their
// outcome yet (READY or PRECOMMITTED, an outcome perhaps being logged): the
// ones whose keys stay locked while the coordinator is away. It walks the
// live transactions, so it is for occasional callers (a metrics scrape),
// not for every event.
func (p *Participant) InDoubt() int {
	n := 0
	for _, t := range p.txns {
		if t.state == wire.StateReady || t.state == wire.StatePrecommitted {
			n++
		}
	}
	return n
}
