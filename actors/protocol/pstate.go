package protocol

import "github.com/txd/txd/wire"

// State is transaction id's state on this participant as it holds it
// now: StateUnknown once forgotten, or if it never durably prepared.
// Simulators and tests read it; the host shows Status instead.
func (p *Participant) State(id string) wire.State {
	if t := p.txns[id]; t != nil {
		return t.state
	}
	return wire.StateUnknown
}
