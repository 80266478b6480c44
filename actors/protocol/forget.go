package protocol

import (
	"github.com/txd/txd/wire"
)

// Forgetting. A participant must remember a finished transaction for as
// long as anyone may still ask about it: a peer in doubt (termination) or
// a late message. Nobody is in doubt any more once the coordinator has
// logged END (every member that had to hear the outcome acknowledged it),
// so the coordinator tells the members, and they forget: memory and the
// checkpointed log stay bounded by the transactions in flight. The last
// few forgotten ones are kept in a small history, for status and for
// queries, which they still answer truthfully.

// historySize is how many forgotten transactions status still shows.
const historySize = 1000

// history is a ring of recently forgotten transactions.
type history struct {
	ring []wire.TxStatus
	next int
	byID map[string]int // index in ring
}

func (h *history) add(s wire.TxStatus) {
	if h.byID == nil {
		h.byID = make(map[string]int, historySize)
		h.ring = make([]wire.TxStatus, 0, historySize)
	}
	if len(h.ring) < historySize {
		h.byID[s.TxID] = len(h.ring)
		h.ring = append(h.ring, s)
		return
	}
	old := h.ring[h.next]
	if h.byID[old.TxID] == h.next {
		delete(h.byID, old.TxID)
	}
	h.ring[h.next] = s
	h.byID[s.TxID] = h.next
	h.next = (h.next + 1) % historySize
}

func (h *history) get(id string) (wire.TxStatus, bool) {
	i, ok := h.byID[id]
	if !ok {
		return wire.TxStatus{}, false
	}
	return h.ring[i], true
}

// list returns the history oldest first.
func (h *history) list() []wire.TxStatus {
	out := make([]wire.TxStatus, 0, len(h.ring))
	out = append(out, h.ring[h.next:]...)
	return append(out, h.ring[:h.next]...)
}

// Forget drops transactions the coordinator has ended. Only finished ones
// go: one still in doubt here (it cannot be, if the coordinator ended it,
// but a confused sender must not make us lose a vote) stays.
func (p *Participant) Forget(ids []string) []Effect {
	var eff []Effect
	for _, id := range ids {
		t := p.txns[id]
		switch {
		case t == nil:
		case t.state.Final() && t.pending == pendNone:
			p.drop(id)
			eff = append(eff, Persist{Rec: Record{Kind: RecForget, TxID: id}})
		case t.pending == pendCommitted || t.pending == pendAborted:
			// Our outcome is still being logged (an ABORT that overtook our
			// own PREPARED): forget it once it is durable.
			t.forgetDone = true
		}
	}
	return eff
}

// drop removes a finished transaction from memory.
func (p *Participant) drop(id string) {
	t := p.txns[id]
	if t == nil || !t.state.Final() {
		return
	}
	delete(p.txns, id)
	p.gone.add(t.status())
	p.live--
	// Compact the order list once most of it is dead.
	if len(p.order) > 64 && p.live < len(p.order)/2 {
		kept := make([]*ptx, 0, 2*p.live)
		for _, o := range p.order {
			if p.txns[o.id] == o {
				kept = append(kept, o)
			}
		}
		p.order = kept
	}
}

// storeChunk is how many SETs a STORE record holds at most: the most
// operations a record may hold (record_codec.go). storeChunkBytes bounds
// their keys and values: a record ends before a SET that would take it
// over, so with values of at most wire.MaxValueLen a record stays far
// under the log's record limit (16 MiB) whatever the values' sizes.
const (
	storeChunk      = 4096
	storeChunkBytes = 4 << 20
)

// Snapshot returns records that replay to this participant's state,
// including records handed to the log and not yet durable (pending): it is
// a checkpoint of everything logged so far, to replace the log with.
func (p *Participant) Snapshot() []Record {
	var recs []Record
	if m, ok := p.store.(interface{ storeRecords() []Record }); ok {
		recs = m.storeRecords()
	}
	for _, t := range p.order {
		if p.txns[t.id] != t {
			continue
		}
		recs = append(recs, t.records()...)
	}
	return recs
}

// records are the log records that rebuild t. The store in the snapshot
// already holds the effects of committed transactions, so a final one needs
// only its outcome; one whose outcome is still being logged needs its
// PREPARED too, so that replay applies it.
func (t *ptx) records() []Record {
	if t.heur != nil {
		return t.heuristicRecords()
	}
	prepared := Record{Kind: RecPrepared, TxID: t.id, Protocol: t.protocol, Ops: t.ops,
		Coord: t.coord, CoordAddr: t.coordAddr, Members: t.members, Time: t.preparedAt}
	outcome := func(commit bool) Record {
		if commit {
			return Record{Kind: RecCommit, TxID: t.id, Protocol: t.protocol, Time: t.outcomeAt, Seq: t.applySeq}
		}
		return Record{Kind: RecAbort, TxID: t.id, Protocol: t.protocol, Reason: t.reason, Time: t.outcomeAt}
	}
	switch {
	case t.pending == pendCommitted:
		return []Record{prepared, outcome(true)}
	case t.pending == pendAborted:
		if t.state == wire.StateUnknown {
			return []Record{outcome(false)}
		}
		return []Record{prepared, outcome(false)}
	case t.state == wire.StateCommitted:
		// Replay of a lone COMMIT records the outcome and applies nothing.
		return []Record{{Kind: RecCommit, TxID: t.id, Protocol: t.protocol, Coord: t.coord, CoordAddr: t.coordAddr, Time: t.outcomeAt, Seq: t.applySeq}}
	case t.state == wire.StateAborted:
		return []Record{outcome(false)}
	case t.state == wire.StatePrecommitted, t.pending == pendPrecommitted:
		return []Record{prepared, {Kind: RecPreCommit, TxID: t.id, Protocol: t.protocol, Time: t.precommitAt}}
	case t.pending == pendPrepared, t.state == wire.StateReady:
		return []Record{prepared}
	}
	return nil
}
