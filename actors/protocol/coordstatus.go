package protocol

import (
	"slices"
	"sort"

	"github.com/txd/txd/wire"
)

// CoordStatus is what a Coordinator's status shows.
type CoordStatus struct {
	// Txns: every running transaction and the newest finished ones,
	// oldest first; Seen says when each entered the coordinator (unix ns),
	// so the lists of several Coordinators merge in order, and Finished
	// which of them need nothing more.
	Txns               []wire.TxStatus
	Seen               []int64
	Finished           []bool
	Committed, Aborted uint64 // decisions taken by this run
	Running            int
}

// Status lists every running transaction and the newest finished ones, at
// most maxFinished of those (the whole window would not fit in a frame).
// The statuses are copies: the host may encode them on another goroutine.
func (c *Coordinator) Status(maxFinished int) CoordStatus {
	st := CoordStatus{Committed: c.committed, Aborted: c.aborted, Running: c.running}
	want, finished := c.running, 0
	for i := len(c.order) - 1; i >= 0 && (want > 0 || finished < maxFinished); i-- {
		t := c.order[i]
		switch {
		case !t.node.finished:
			want--
		case finished < maxFinished:
			finished++
		default:
			continue
		}
		s := t.Status()
		s.Started, s.Decided = t.node.startedAt, t.node.decidedAt
		if t.tooOldRun {
			// This run aborted, but the id was committed by an earlier
			// one: not ABORTED (Reason says what a member remembers).
			s.State = wire.StateUnknown
		}
		st.Txns = append(st.Txns, s)
		st.Seen = append(st.Seen, t.node.seen)
		st.Finished = append(st.Finished, t.node.finished)
	}
	slices.Reverse(st.Txns)
	slices.Reverse(st.Seen)
	slices.Reverse(st.Finished)
	return st
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
