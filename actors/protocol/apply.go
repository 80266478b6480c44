package protocol

import (
	"errors"
	"fmt"
)

// Applying commits to the store. Every commit takes the next apply
// sequence number, and its record carries it (Record.Seq): a store that
// survives restarts (Store.Seq above 0) already holds the commits up to its
// sequence, and replay skips them. The sequence follows the log's order, so
// the commits a store holds are always a prefix of the log's.

// ErrLegacyOverStore says a log written before commits were numbered (its
// commits and STORE records carry no Seq) is replayed over a store that
// already holds data: the store holds an earlier, interrupted conversion
// of the same log. Its host empties the store and replays again.
var ErrLegacyOverStore = errors.New("a log without apply sequence numbers replayed over a non-empty store")

// commitAt applies t's writes under seq and records seq as t's. A seq of 0
// is a record from before sequences existed: it takes the next one, which
// is only right over a store that held nothing at start.
func (p *Participant) commitAt(t *ptx, seq uint64) error {
	if seq == 0 {
		if len(t.ops) == 0 {
			return nil // an outcome alone: its writes are in the checkpointed store
		}
		if p.base > 0 {
			return ErrLegacyOverStore
		}
		seq = p.applied + 1
	}
	p.applied = max(p.applied, seq)
	t.applySeq = seq
	if _, none := p.store.(NoStore); seq <= p.base || none {
		t.writes = nil
		return nil // the store holds it already, or keeps nothing
	}
	writes := t.writes
	if writes == nil {
		var err error
		if writes, err = resolve(p.store.Get, t.ops); err != nil {
			// Checked at PREPARE against the same values (the keys were
			// locked since): only a failing read gets here.
			return fmt.Errorf("commit %s: %w", t.id, err)
		}
	}
	t.writes = nil
	p.store.Commit(seq, writes)
	return nil
}

// commitNow applies t's writes under the next sequence number, live (not
// replaying), and returns that number for its record. The store has
// already answered every key at PREPARE, so an error means the store can
// no longer be read: the node must stop.
func (p *Participant) commitNow(t *ptx) uint64 {
	if err := p.commitAt(t, p.applied+1); err != nil {
		panic(err)
	}
	return t.applySeq
}

// replayStore applies a STORE record (a checkpoint's part of the store,
// from a log written before the store lived outside it).
func (p *Participant) replayStore(rec Record) error {
	if p.base > 0 {
		return ErrLegacyOverStore
	}
	p.applied++
	p.store.Commit(p.applied, rec.Ops)
	return nil
}
