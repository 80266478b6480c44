package protocol

import "github.com/txd/txd/wire"

// Recover adds a transaction found in the log at start-up. An ended one
// joins the outcome window; the others run again once Recovered is called:
// a decision without END is delivered again; no decision means abort (2PC)
// or asking the participants (3PC; see RecoverCoordTxn).
func (c *Coordinator) Recover(r LoggedTx) {
	t := RecoverCoordTxn(c.cfg.CoordConfig, r.ID, r.Protocol, r.Members, r.Decided, r.Commit, r.Reason)
	t.tooOldRun = r.TooOld
	t.node.digest = r.Digest // a retry with other operations is still refused
	now := c.cfg.Now()
	if r.Decided {
		t.node.decided = true
		t.node.decidedAt = now.UnixNano() // not counted: decided before the restart
		t.node.replied = &wire.StartResult{TxID: t.id, Protocol: t.protocol, Outcome: t.Outcome(), Reason: t.reason}
		if r.TooOld {
			t.node.replied = tooOldError(t.reason)
		}
	}
	if !r.Ended {
		c.cfg.Inflight.add()
		c.admit(t)
		c.recovering = append(c.recovering, t)
		return
	}
	t.phase = phDone
	for id := range t.state {
		t.state[id] = t.Outcome()
	}
	t.node.finished = true
	t.node.seen = now.UnixNano()
	c.txns[t.id] = t
	c.order = append(c.order, t)
	c.keepFinished(t)
}

// Recovered starts the transactions Recover added, in the log's order.
func (c *Coordinator) Recovered() []Effect {
	var eff []Effect
	for _, t := range c.recovering {
		eff = append(eff, c.run(t, t.Start())...)
	}
	c.recovering = nil
	return eff
}
