package protocol

import (
	"fmt"

	"github.com/txd/txd/wire"
)

// CoordLog is the logical content of a coordinator's log: every transaction
// it knows, what was logged for it, and (for a bounded number of ended ones)
// the outcome, which answers retries and queries. It is built by replaying
// the log at start-up and kept up to date by the WAL writer with every record
// it writes, so that a checkpoint (Snapshot) is always exactly what the log
// says: the Coordinators' own view runs ahead of the log (a record is
// theirs once they ask for it, the log's once it is written). It is
// compact on purpose (docs/decisions.md, "The coordinator's log model
// stays compact").
type CoordLog struct {
	txns       map[string]*LoggedTx
	order      []*LoggedTx // first seen first; ended ones trimmed from the front
	keep       int         // ended transactions to remember
	ended      int         // ended entries in order
	keepBytes  int64       // estimated memory the ended ones may hold (LimitBytes); 0: no limit
	endedBytes int64       // their estimated memory (LoggedCost)
}

// LoggedTx is one transaction as the coordinator's log knows it.
type LoggedTx struct {
	ID           string
	Protocol     wire.Protocol
	Members      []wire.Member
	PreCommitted bool
	Decided      bool
	Commit       bool
	Reason       string
	Ended        bool
	TooOld       bool   // a retry of an id a member had committed earlier (coordtooold.go)
	Digest       uint64 // the client's request (opsDigest, from BEGIN); 0: not known
	// When each record was appended (Record.Time), so that a checkpoint
	// keeps the times a trace shows.
	BeganAt, PreCommittedAt, DecidedAt, EndedAt int64
}

// NewCoordLog returns an empty log model remembering up to keep ended
// transactions (the idempotency window for retried ids).
func NewCoordLog(keep int) *CoordLog {
	if keep < 1 {
		keep = 1
	}
	return &CoordLog{txns: map[string]*LoggedTx{}, keep: keep}
}

// LimitBytes bounds the estimated memory (LoggedCost) of the ended
// transactions remembered, besides their number; n <= 0: no bound. It
// returns l.
func (l *CoordLog) LimitBytes(n int64) *CoordLog {
	l.keepBytes = max(n, 0)
	return l
}

// LoggedCost estimates the memory one remembered transaction holds: a
// fixed part measured on amd64 (the struct, its map entry and order slot),
// its strings, and its members.
func LoggedCost(t *LoggedTx) int64 {
	n := int64(160 + len(t.ID) + len(t.Reason))
	for _, m := range t.Members {
		n += int64(32 + len(m.ID) + len(m.Addr))
	}
	return n
}

// Apply adds one record.
func (l *CoordLog) Apply(rec Record) error {
	t := l.txns[rec.TxID]
	if t == nil {
		t = &LoggedTx{ID: rec.TxID, Protocol: rec.Protocol}
		l.txns[rec.TxID] = t
		l.order = append(l.order, t)
	}
	if t.Protocol == "" {
		t.Protocol = rec.Protocol
	}
	if t.Members == nil && rec.Members != nil {
		t.Members = rec.Members
	}
	switch rec.Kind {
	case RecBegin:
		t.BeganAt, t.Digest = rec.Time, parseDigest(rec.Digest)
	case RecPreCommit:
		t.PreCommitted, t.PreCommittedAt = true, rec.Time
	case RecDecision:
		t.Decided, t.Commit, t.Reason, t.DecidedAt = true, rec.Commit, rec.Reason, rec.Time
	case RecTooOld:
		t.TooOld, t.Reason = true, rec.Reason
	case RecEnd:
		if !t.Ended {
			t.EndedAt = rec.Time
			t.Ended = true
			l.ended++
			l.endedBytes += LoggedCost(t)
			l.trim()
		}
	default:
		return fmt.Errorf("unexpected %v record for %s in a coordinator log", rec.Kind, rec.TxID)
	}
	return nil
}

// trim forgets the oldest ended transactions beyond the window: their
// number beyond keep, their estimated memory beyond keepBytes. Unended
// ones are never forgotten, wherever they are in the order. It runs when
// the window is a quarter over either bound, so its pass over the order is
// amortized.
func (l *CoordLog) trim() {
	if !OverWindow(l.ended, l.endedBytes, l.keep, l.keepBytes, 4) {
		return
	}
	kept := l.order[:0]
	for _, t := range l.order {
		if t.Ended && OverWindow(l.ended, l.endedBytes, l.keep, l.keepBytes, 0) {
			delete(l.txns, t.ID)
			l.ended--
			l.endedBytes -= LoggedCost(t)
			continue
		}
		kept = append(kept, t)
	}
	clear(l.order[len(kept):])
	l.order = kept
}

// OverWindow reports whether n remembered outcomes holding bytes exceed
// the window (keep, keepBytes; keepBytes 0: no byte bound) by more than
// 1/slack of either bound (slack 0: by anything).
func OverWindow(n int, bytes int64, keep int, keepBytes int64, slack int) bool {
	extraN, extraB := 0, int64(0)
	if slack > 0 {
		extraN, extraB = keep/slack, keepBytes/int64(slack)
	}
	return n > keep+extraN || (keepBytes > 0 && bytes > keepBytes+extraB)
}

// Get returns what the log knows of a transaction.
func (l *CoordLog) Get(id string) *LoggedTx { return l.txns[id] }

// All lists every remembered transaction, oldest first.
func (l *CoordLog) All() []*LoggedTx { return l.order }

// Snapshot returns records that replay to the same CoordLog.
func (l *CoordLog) Snapshot() []Record {
	recs := make([]Record, 0, 2*len(l.order))
	for _, t := range l.order {
		recs = append(recs, Record{Kind: RecBegin, TxID: t.ID, Protocol: t.Protocol, Members: t.Members, Time: t.BeganAt, Digest: digestText(t.Digest)})
		if t.PreCommitted {
			recs = append(recs, Record{Kind: RecPreCommit, TxID: t.ID, Protocol: t.Protocol, Time: t.PreCommittedAt})
		}
		if t.TooOld {
			recs = append(recs, Record{Kind: RecTooOld, TxID: t.ID, Protocol: t.Protocol, Reason: t.Reason})
		}
		if t.Decided {
			recs = append(recs, Record{Kind: RecDecision, TxID: t.ID, Protocol: t.Protocol, Commit: t.Commit, Reason: t.Reason, Time: t.DecidedAt})
		}
		if t.Ended {
			recs = append(recs, Record{Kind: RecEnd, TxID: t.ID, Time: t.EndedAt})
		}
	}
	return recs
}
