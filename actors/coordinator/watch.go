package coordinator

import (
	"time"

	"github.com/txd/txd/wire"
)

// What the coordinator's status adds for txcli watch: when each
// transaction started and was decided (so a watcher can show latency and
// how long a decided transaction has waited for its acks), and counts of
// decisions that only grow (so its throughput is exact however many
// transactions finish between two polls). Reading the clock is cheap; no
// message or log record is added per transaction.

// watchTimes are a transaction's times, unix nanoseconds; 0 is unknown.
type watchTimes struct {
	started   int64 // 0 for a transaction resumed from the log
	decidedAt int64
}

// watchCounts are the coordinator's decisions since boot.
type watchCounts struct {
	boot               int64
	committed, aborted uint64
}

// noteDecided stamps and counts tx's decision the first time its status
// says it is decided. Decisions read from the log at start-up are stamped
// by resume and so never counted here.
func (a *coordinatorActor) noteDecided(tx *coordTx) {
	if tx.decidedAt != 0 {
		return
	}
	switch tx.status.State {
	case wire.StateCommitted:
		a.committed++
	case wire.StateAborted:
		a.aborted++
	default:
		return
	}
	tx.decidedAt = time.Now().UnixNano()
}

// stamp is s with tx's times.
func (tx *coordTx) stamp(s wire.TxStatus) wire.TxStatus {
	s.Started, s.Decided = tx.started, tx.decidedAt
	return s
}
