package participant

import (
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/internal/crashpoint"
	"github.com/txd/txd/wire"
)

// The participant's crash points live here, in the shell, where the
// effects happen: just before an effect is carried out, and when a forced
// record comes back durable. The state machines know nothing of them.
// Without -tags crashpoints every function below is empty and inlined away.

// partCrashBefore is a participant's crash point just before effects[i].
func partCrashBefore(effects []protocol.Effect, i int) {
	if !crashpoint.Enabled {
		return
	}
	switch e := effects[i].(type) {
	case protocol.Send:
		// Only a termination leader sends a decision, once its own is
		// durable.
		if _, ok := e.Msg.(*wire.Decision); ok && !node.SentBefore[*wire.Decision](effects, i) {
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
