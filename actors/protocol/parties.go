package protocol

import "github.com/txd/txd/wire"

// Parties names who may speak for a transaction, as its PREPARE named them:
// its coordinator and its members. known is false when there is no PREPARE
// here to go by: never heard of, forgotten, or first heard of through a
// query or an ABORT.
func (p *Participant) Parties(txid string) (coord string, members []wire.Member, known bool) {
	t := p.txns[txid]
	if t == nil || t.coord == "" {
		return "", nil, false
	}
	return t.coord, t.members, true
}

// Peers lists the other participants named as members of the transactions
// known here (replayed or running), each once.
func (p *Participant) Peers() []string {
	seen := map[string]bool{p.cfg.NodeID: true}
	var out []string
	for _, t := range p.txns {
		for _, m := range t.members {
			if !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, m.ID)
			}
		}
	}
	return out
}
