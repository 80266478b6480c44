package coordinator

import (
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/internal/crashpoint"
	"github.com/txd/txd/wire"
)

// The coordinator's crash points live here, in the shell, where the
// effects happen: just before an effect is carried out, and when a forced
// record comes back durable. The state machines know nothing of them.
// Without -tags crashpoints every function below is empty and inlined away.

// crashBefore is the coordinator's crash point just before effects[i].
// Retransmissions, and the records of a presumed abort (no protocol), are
// not protocol steps: they have none.
func crashBefore(effects []protocol.Effect, i int) {
	if !crashpoint.Enabled {
		return
	}
	switch e := effects[i].(type) {
	case protocol.Send:
		if !e.Since.IsZero() {
			return
		}
		switch e.Msg.(type) {
		case *wire.Prepare:
			if node.SentBefore[*wire.Prepare](effects, i) {
				crashpoint.Hit(crashpoint.CoordPrepareSome)
			} else {
				crashpoint.Hit(crashpoint.CoordBeforePrepare)
			}
		case *wire.PreCommit:
			if node.SentBefore[*wire.PreCommit](effects, i) {
				crashpoint.Hit(crashpoint.Coord3PCPreSome)
			} else {
				crashpoint.Hit(crashpoint.Coord3PCPreForced)
			}
		case *wire.Decision:
			if node.SentBefore[*wire.Decision](effects, i) {
				crashpoint.Hit(crashpoint.CoordDecisionSome)
			}
		}
	case protocol.Persist:
		if e.Rec.Protocol == "" {
			return
		}
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

// crashLogged is the coordinator's crash point when rec became durable,
// before the state machine hears it.
func crashLogged(rec protocol.Record) {
	if !crashpoint.Enabled || rec.Protocol == "" {
		return
	}
	switch rec.Kind {
	case protocol.RecDecision:
		crashpoint.Hit(crashpoint.CoordDecisionForced)
	}
}
