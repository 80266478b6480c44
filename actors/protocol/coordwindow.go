package protocol

import "github.com/txd/txd/wire"

// The outcome window. A finished transaction stays remembered, so that a
// retried id gets its recorded outcome back and status shows it, until it
// is among the oldest beyond the window (Keep outcomes, about KeepBytes of
// memory); the WAL checkpoint keeps the same window. Its members may forget
// it at once: END is logged, nobody is in doubt. They hear so in batches
// (Forget), a list per member.

// finish files a transaction that needs nothing more.
func (c *Coordinator) finish(t *CoordTxn, out []Effect) []Effect {
	t.node.finished = true
	c.running--
	c.cfg.Inflight.done()
	t.node.pending, t.node.resendArmed = nil, false
	t.ops, t.need, t.replies = nil, nil, nil
	if !t.commit {
		// Participants that never voted were not waited for: by presumed
		// abort they abort too (or already have).
		for id, s := range t.state {
			if !s.Final() {
				t.state[id] = wire.StateAborted
			}
		}
	}
	if !t.parallel() { // PARALLEL: once its forced END is durable (Coordinator.Logged)
		out = c.queueForget(t, out)
	}
	c.keepFinished(t)
	return out
}

// queueForget adds t to its members' Forget lists.
func (c *Coordinator) queueForget(t *CoordTxn, out []Effect) []Effect {
	for _, m := range t.members {
		c.forget[m.ID] = append(c.forget[m.ID], t.id)
		if len(c.forget[m.ID]) >= forgetBatch {
			out = c.sendForget(m.ID, out)
		}
	}
	if len(c.forget) > 0 && !c.forgetDue {
		c.forgetDue = true
		out = append(out, SetTimer{Kind: TimerForget, After: forgetEvery, Due: c.cfg.Now().Add(forgetEvery)})
	}
	return out
}

// flushForget sends every gathered Forget list, in the members' order.
func (c *Coordinator) flushForget() []Effect {
	c.forgetDue = false
	var out []Effect
	for _, id := range sortedKeys(c.forget) {
		out = c.sendForget(id, out)
	}
	return out
}

// sendForget tells one member about its ended transactions. A lost Forget
// costs that member memory, never correctness.
func (c *Coordinator) sendForget(member string, out []Effect) []Effect {
	ids := c.forget[member]
	delete(c.forget, member)
	if len(ids) == 0 {
		return out
	}
	return append(out, Send{To: member, Msg: &wire.Forget{TxIDs: ids}})
}

// keepFinished counts t, just finished, into the window and trims it.
func (c *Coordinator) keepFinished(t *CoordTxn) {
	t.node.cost = outcomeCost(t)
	c.finished++
	c.finishedBytes += t.node.cost
	c.trim()
}

// outcomeCost estimates the memory a finished transaction holds here: a
// fixed part measured on amd64 (CoordTxn, its map entry and order slot,
// its state map), its strings, and its members.
func outcomeCost(t *CoordTxn) int64 {
	n := int64(outcomeFixedCost + len(t.id) + len(t.reason))
	for _, m := range t.members {
		n += int64(outcomeMemberCost + len(m.ID) + len(m.Addr))
	}
	return n
}

// The parts of outcomeCost measured by TestOutcomeCostMeasured.
const (
	outcomeFixedCost  = 680
	outcomeMemberCost = 96
)

// trim drops the oldest finished transactions beyond the window, once it
// is a quarter over either bound (so the pass over order is amortized).
// Running ones are never dropped, wherever they are in the order.
func (c *Coordinator) trim() {
	if !OverWindow(c.finished, c.finishedBytes, c.cfg.Keep, c.cfg.KeepBytes, 4) {
		return
	}
	kept := c.order[:0]
	for _, t := range c.order {
		if t.node.finished && !t.node.presumed && OverWindow(c.finished, c.finishedBytes, c.cfg.Keep, c.cfg.KeepBytes, 0) {
			delete(c.txns, t.id)
			c.finished--
			c.finishedBytes -= t.node.cost
			continue
		}
		kept = append(kept, t)
	}
	clear(c.order[len(kept):])
	c.order = kept
}
