package sim

import (
	"slices"

	"github.com/txd/txd/actors/protocol"
)

// wal is one node's log: durable records and a written-but-unsynced tail.
type wal struct {
	durable []protocol.Record
	buf     []protocol.Persist
	manual  bool // sync only when the test calls Sync
}

// syncAll makes the tail durable and returns its forced records, whose
// Logged calls are now due.
func (w *wal) syncAll() (forced []protocol.Record) {
	for _, p := range w.buf {
		w.durable = append(w.durable, p.Rec)
		if p.Force {
			forced = append(forced, p.Rec)
		}
	}
	w.buf = nil
	return forced
}

// has reports whether a durable record (or, with inBuf, one in the tail)
// matches pred.
func (w *wal) has(inBuf bool, pred func(protocol.Record) bool) bool {
	if slices.ContainsFunc(w.durable, pred) {
		return true
	}
	if inBuf {
		for _, p := range w.buf {
			if pred(p.Rec) {
				return true
			}
		}
	}
	return false
}

func recIs(kind protocol.RecKind, tx string) func(protocol.Record) bool {
	return func(r protocol.Record) bool { return r.Kind == kind && r.TxID == tx }
}

// SetManualSync makes node id's log sync only when the test calls Sync
// (on), or at once after each forced write (off).
func (s *Sim) SetManualSync(id string, on bool) { s.nodes[id].log.manual = on }

// Sync makes node id's log durable now and reports the forced records to
// its machine (for nodes with manual sync).
func (s *Sim) Sync(id string) {
	s.syncNode(id, s.nodes[id].inc)
}

func (s *Sim) syncNode(id string, inc int) {
	n := s.nodes[id]
	if !n.up || n.inc != inc {
		return // the node crashed since the write
	}
	for _, rec := range n.log.syncAll() {
		what := "logged " + rec.Kind.String() + " " + rec.TxID
		if n.p != nil {
			s.call(id, what, n.p.Logged(rec))
		} else if c := s.Coordinator(); c != nil {
			s.call(id, what, c.Logged(rec))
		}
	}
}

// Durable returns node id's durable records.
func (s *Sim) Durable(id string) []protocol.Record { return s.nodes[id].log.durable }

// Tail returns node id's written, not yet durable records.
func (s *Sim) Tail(id string) []protocol.Persist { return s.nodes[id].log.buf }

// Records counts node id's durable records of kind for tx.
func (s *Sim) Records(id string, kind protocol.RecKind, tx string) int {
	n := 0
	for _, r := range s.nodes[id].log.durable {
		if r.Kind == kind && r.TxID == tx {
			n++
		}
	}
	return n
}
