package main

import "github.com/txd/txd/wire"

// Status marks for heuristic outcomes (txcli resolve): the state cell gets
// a suffix, and the legend explains it.
const (
	markHeuristic = "+H"  // the outcome was applied by an operator
	markDamage    = "+H!" // ... and contradicts the decision
)

// txState is a transaction's state cell, marked when heuristic.
func txState(tx wire.TxStatus) string {
	s := showState(tx.State)
	switch {
	case tx.Damage:
		return s + markDamage
	case tx.Heuristic:
		return s + markHeuristic
	}
	return s
}

// noteHeuristic records which marks a table shows, for the legend.
func noteHeuristic(shown map[string]bool, tx wire.TxStatus) {
	switch {
	case tx.Damage:
		shown[markDamage] = true
	case tx.Heuristic:
		shown[markHeuristic] = true
	}
}

func heuristicNote(mark string) string {
	if mark == markDamage {
		return "heuristic damage: an operator's outcome (txcli resolve) contradicts the decision; the transaction is not atomic"
	}
	return "heuristic: applied by an operator (txcli resolve), not by the protocol"
}
