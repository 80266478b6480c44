package participant

import (
	"time"

	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// coordUp tells the participant actor a coordinator it accepts has
// connected (its handshake passed).
type coordUp struct{ id string }

// recoverDoubts starts the in-doubt clock of the transactions the log
// brought back in doubt, from when they prepared.
func (a *participantActor) recoverDoubts() {
	now := time.Now()
	for _, t := range a.fsm.Transactions() {
		if t.State != wire.StateReady && t.State != wire.StatePrecommitted {
			continue
		}
		since := now
		if ns := a.recoveredSince[t.TxID]; ns > 0 {
			since = time.Unix(0, ns)
		}
		a.doubts.Ready(t.TxID, since)
	}
	a.recoveredSince = nil
}

// settled tells the in-doubt clock about an outcome being logged.
func (a *participantActor) settled(r protocol.Record) {
	switch r.Kind {
	case protocol.RecCommit, protocol.RecAbort:
		how := node.ByCoordinator
		if a.termination {
			how = node.ByTermination
		}
		a.doubts.Settled(r.TxID, r.Kind == protocol.RecCommit, r.Reason, how)
	case protocol.RecHeuristic:
		a.doubts.Settled(r.TxID, r.Commit, r.Reason, node.ByOperator)
	}
}

// preparedTimes collects, during replay, when each transaction still
// prepared wrote its PREPARED record, for recoverDoubts.
type preparedTimes map[string]int64

func (p preparedTimes) replayed(r protocol.Record) {
	switch r.Kind {
	case protocol.RecPrepared:
		p[r.TxID] = r.Time
	case protocol.RecCommit, protocol.RecAbort, protocol.RecHeuristic, protocol.RecForget:
		delete(p, r.TxID)
	}
}
