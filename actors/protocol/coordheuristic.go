package protocol

import (
	"fmt"
	"sort"
	"strings"

	"github.com/txd/txd/wire"
)

// What the coordinator learns of heuristic outcomes (heuristic.go): an Ack
// with Heuristic says an operator, not the protocol, gave that participant
// its outcome. The coordinator cannot change it either; it shows it in
// status, and as damage when it contradicts the decision.

// noteHeuristic remembers a heuristic outcome a participant acknowledged.
func (t *CoordTxn) noteHeuristic(a *wire.Ack) {
	if !a.Heuristic || !a.State.Final() {
		return
	}
	if _, member := t.state[a.From]; !member {
		return
	}
	if t.heur == nil {
		t.heur = make(map[string]wire.State, 1)
	}
	t.heur[a.From] = a.State
}

// HeuristicDamage lists the participants whose heuristic outcome
// contradicts the decision, as "B: ABORTED", sorted; nil when undecided.
func (t *CoordTxn) HeuristicDamage() []string {
	switch t.phase {
	case phLogging, phDelay, phDelivering, phDone:
	default:
		return nil
	}
	out := t.Outcome()
	var bad []string
	for id, s := range t.heur {
		if s != out {
			bad = append(bad, id+": "+string(s))
		}
	}
	sort.Strings(bad)
	return bad
}

// heuristicStatus marks a status with what the participants reported.
func (t *CoordTxn) heuristicStatus(st *wire.TxStatus) {
	if len(t.heur) == 0 {
		return
	}
	st.Heuristic = true
	for id, s := range t.heur {
		// What the participant applied, whatever the coordinator's own
		// record of it says (a member's state may have been set from the
		// decision, e.g. when its log was read back after a restart).
		st.Participants[id] = s
	}
	if bad := t.HeuristicDamage(); len(bad) > 0 {
		st.Damage = true
		st.Reason = strings.TrimPrefix(st.Reason+"; ", "; ") +
			fmt.Sprintf("heuristic damage: decided %s, but an operator made %s", verb(t.commit), strings.Join(bad, ", "))
	}
}

// abortCause says why a participant acknowledged a PRE-COMMIT with ABORTED.
func abortCause(a *wire.Ack) string {
	if a.Heuristic {
		return "aborted heuristically by an operator (txcli resolve)"
	}
	return "aborted by the termination protocol"
}
