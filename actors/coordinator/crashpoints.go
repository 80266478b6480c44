package actors

import (
	"os"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/internal/crashpoint"
	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
)

// Crash points live here, in the shells, where the effects happen: just
// before an effect is carried out, and when a forced record comes back
// durable. The state machines know nothing of them. Without -tags
// crashpoints every function below is empty and inlined away.

// txnCrashBefore is the coordinator's crash point just before effects[i].
func txnCrashBefore(effects []protocol.Effect, i int) {
	if !crashpoint.Enabled {
		return
	}
	switch e := effects[i].(type) {
	case protocol.Send:
		switch e.Msg.(type) {
		case *wire.Prepare:
			if sentBefore[*wire.Prepare](effects, i) {
				crashpoint.Hit(crashpoint.CoordPrepareSome)
			} else {
				crashpoint.Hit(crashpoint.CoordBeforePrepare)
			}
		case *wire.PreCommit:
			if sentBefore[*wire.PreCommit](effects, i) {
				crashpoint.Hit(crashpoint.Coord3PCPreSome)
			} else {
				crashpoint.Hit(crashpoint.Coord3PCPreForced)
			}
		case *wire.Decision:
			if sentBefore[*wire.Decision](effects, i) {
				crashpoint.Hit(crashpoint.CoordDecisionSome)
			}
		}
	case protocol.Persist:
		switch e.Rec.Kind {
		case protocol.RecDecision:
			// A 3PC commit comes only after the pre-commit round.
			if e.Rec.Protocol == wire.ThreePC && e.Rec.Commit {
				crashpoint.Hit(crashpoint.Coord3PCAcksBeforeLog)
			} else {
				crashpoint.Hit(crashpoint.CoordVotesBeforeLog)
			}
		case protocol.RecPreCommit:
			crashpoint.Hit(crashpoint.Coord3PCVotesBeforeLog)
		case protocol.RecEnd:
			crashpoint.Hit(crashpoint.CoordAcksBeforeEnd)
		}
	}
}

// txnCrashLogged is the coordinator's crash point when rec became durable,
// before the state machine hears it.
func txnCrashLogged(rec protocol.Record) {
	if !crashpoint.Enabled {
		return
	}
	switch rec.Kind {
	case protocol.RecDecision:
		crashpoint.Hit(crashpoint.CoordDecisionForced)
	}
}

// partCrashBefore is a participant's crash point just before effects[i].
func partCrashBefore(effects []protocol.Effect, i int) {
	if !crashpoint.Enabled {
		return
	}
	switch e := effects[i].(type) {
	case protocol.Send:
		// Only a termination leader sends a decision, once its own is
		// durable.
		if _, ok := e.Msg.(*wire.Decision); ok && !sentBefore[*wire.Decision](effects, i) {
			crashpoint.Hit(crashpoint.Part3PCTerminationKnown)
		}
	case protocol.Persist:
		if e.Rec.Kind == protocol.RecPrepared {
			crashpoint.Hit(crashpoint.PartPrepareBeforeLog)
		}
	}
}

// partCrashLogged is a participant's crash point when rec became durable,
// before the state machine hears it.
func partCrashLogged(rec protocol.Record) {
	if !crashpoint.Enabled {
		return
	}
	switch rec.Kind {
	case protocol.RecPrepared:
		crashpoint.Hit(crashpoint.PartPreparedForced)
	case protocol.RecCommit, protocol.RecAbort:
		crashpoint.Hit(crashpoint.PartOutcomeForced)
	case protocol.RecPreCommit:
		crashpoint.Hit(crashpoint.Part3PCPreForced)
	}
}

// sentBefore reports whether effects before i send a message of type M.
func sentBefore[M wire.Message](effects []protocol.Effect, i int) bool {
	for _, e := range effects[:i] {
		if s, ok := e.(protocol.Send); ok {
			if _, ok := s.Msg.(M); ok {
				return true
			}
		}
	}
	return false
}

// walCrashTorn is the crash point before a forced batch is written: if it
// fires, the batch up to the middle of its last record (which starts at
// last) goes to the file behind the log's back, and the process dies with
// nothing synced. Half a record is more than its length field, so replay
// sees a record cut short, not the zeros of a clean end.
func walCrashTorn(log *walstore.Log, batch []byte, last int) {
	if !crashpoint.Enabled {
		return
	}
	crashpoint.Before(crashpoint.WALBatchTorn, func() {
		f, err := os.OpenFile(log.Path(), os.O_WRONLY, 0)
		if err == nil {
			_, _ = f.WriteAt(batch[:last+(len(batch)-last)/2+1], log.End())
		}
	})
}

// rewriteCrashHook maps Rewrite's steps to the compaction crash points;
// nil without them.
func rewriteCrashHook() func(walstore.RewriteStep) {
	if !crashpoint.Enabled {
		return nil
	}
	return func(s walstore.RewriteStep) {
		switch s {
		case walstore.RewriteTempWritten:
			crashpoint.Hit(crashpoint.WALCompactTempWritten)
		case walstore.RewriteTempSynced:
			crashpoint.Hit(crashpoint.WALCompactTempSynced)
		case walstore.RewriteRenamed:
			crashpoint.Hit(crashpoint.WALCompactRenamed)
		case walstore.RewriteDirSynced:
			crashpoint.Hit(crashpoint.WALCompactDirSynced)
		}
	}
}
