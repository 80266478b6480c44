package main

import (
	"fmt"
	"strings"

	"github.com/txd/txd/wire"
)

// resolvePlan is what resolve will do, decided from a survey alone.
type resolvePlan struct {
	// refuse, when set, is why nothing is done. hard: --force does not
	// override it (an outcome already applied the other way: resolving
	// would break atomicity for certain).
	refuse string
	hard   bool
	// overridden are the refusals --force overrode, for the warning and
	// the record.
	overridden []string
	targets    []*nodeView // members to send the outcome to
	already    []*nodeView // members that already have it
	missing    []*nodeView // members that could not be asked: not resolved
}

// planResolve decides what resolving sv.txid as commit may do. It refuses
// when the outcome is known or can still be decided without an operator:
// the coordinator is reachable (it decided, or will), a member applied
// the outcome through the protocol (the members in doubt learn it from it
// by cooperative termination), or the transaction is 3PC (its members in
// doubt decide among themselves); --force overrides those. It always
// refuses an outcome that a member or the coordinator already has the
// other way. only restricts the targets to the given nodes.
func planResolve(sv *survey, commit, force, only bool) resolvePlan {
	var p resolvePlan
	want := outcomeState(commit)
	who := func(n *nodeView) string {
		if n.id == "" {
			return n.addr
		}
		return fmt.Sprintf("%s (%s)", cell(n.id), n.addr)
	}
	if c := sv.coord; c != nil && c.reachable() && c.tx != nil && c.tx.State.Final() && c.tx.State != want {
		p.refuse, p.hard = fmt.Sprintf("the coordinator %s decided %s %s: resolving it %s would break atomicity",
			who(c), sv.txid, c.tx.State, verbOf(commit)), true
		return p
	}
	for _, m := range sv.members {
		if m.reachable() && m.tx != nil && m.tx.State.Final() && m.tx.State != want {
			how := "by the protocol"
			if m.tx.Heuristic {
				how = "heuristically"
			}
			p.refuse, p.hard = fmt.Sprintf("participant %s has already %s %s (%s): a participant cannot undo an outcome, refusing to %s it on any member",
				who(m), m.tx.State, sv.txid, how, verbOf(commit)), true
			return p
		}
	}

	var soft []string
	if c := sv.coord; c != nil && c.reachable() {
		what := "can still decide it"
		if c.tx != nil && c.tx.State.Final() {
			what = "decided it " + string(c.tx.State)
		}
		soft = append(soft, fmt.Sprintf("the coordinator %s is reachable and %s: it finishes %s itself once its participants reach it",
			who(c), what, sv.txid))
	}
	for _, m := range sv.members {
		if m.reachable() && m.tx != nil && m.tx.State.Final() && !m.tx.Heuristic {
			soft = append(soft, fmt.Sprintf("participant %s has %s by the protocol: the members in doubt learn it from it (cooperative termination)",
				who(m), m.tx.State))
		}
	}
	if sv.proto == wire.ThreePC {
		soft = append(soft, "it is 3PC: its members in doubt decide among themselves (termination protocol) without the coordinator")
	}
	if len(soft) > 0 && !force {
		p.refuse = strings.Join(soft, "; ") + " (--force overrides, at the risk of heuristic damage)"
		return p
	}
	p.overridden = soft

	for _, m := range sv.members {
		switch {
		case only && !m.given:
		case !m.reachable():
			p.missing = append(p.missing, m)
		case m.tx != nil && m.tx.State == want && !m.given:
			p.already = append(p.already, m)
		case m.given || m.tx != nil && inDoubtState(m.tx.State):
			// A given participant is always asked: it answers for
			// itself (already so, or not known there).
			p.targets = append(p.targets, m)
		}
	}
	if len(p.targets) == 0 && len(p.already) == 0 {
		p.refuse = fmt.Sprintf("no reachable participant holds %s in doubt", sv.txid)
	}
	return p
}

func outcomeState(commit bool) wire.State {
	if commit {
		return wire.StateCommitted
	}
	return wire.StateAborted
}

func verbOf(commit bool) string {
	if commit {
		return "COMMIT"
	}
	return "ABORT"
}
