package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/txd/txd/wire"
)

// member is a surveyed participant holding tx in state s (nil tx when s
// is ""), reachable unless down.
func member(id string, s wire.State, heur, given, down bool) *nodeView {
	n := &nodeView{id: id, addr: strings.ToLower(id) + ":1", given: given}
	if down {
		n.err = fmt.Errorf("connection refused")
		return n
	}
	n.st = &wire.Status{NodeID: id, Role: wire.RoleParticipant}
	if s != "" {
		n.tx = &wire.TxStatus{TxID: "T", Protocol: wire.TwoPC, State: s, Heuristic: heur}
	}
	return n
}

func coordView(s wire.State, down bool) *nodeView {
	n := &nodeView{id: "COORD", addr: "c:1"}
	if down {
		n.err = fmt.Errorf("connection refused")
		return n
	}
	n.st = &wire.Status{NodeID: "COORD", Role: wire.RoleCoordinator}
	if s != "" {
		n.tx = &wire.TxStatus{TxID: "T", Protocol: wire.TwoPC, State: s}
	}
	return n
}

func ids(ns []*nodeView) string {
	var out []string
	for _, n := range ns {
		out = append(out, n.id)
	}
	return strings.Join(out, ",")
}

// The refusals of issue 16: resolve never makes things worse.
func TestResolvePlan(t *testing.T) {
	ready := wire.StateReady
	cases := []struct {
		name          string
		coord         *nodeView
		members       []*nodeView
		proto         wire.Protocol
		commit, force bool
		only          bool
		refuse        string // "" : not refused
		hard          bool
		targets       string
		missing       string
	}{
		{name: "coordinator alive and decided the other way: refused even forced",
			coord:   coordView(wire.StateCommitted, false),
			members: []*nodeView{member("B", ready, false, true, false), member("C", ready, false, false, false)},
			force:   true, refuse: "the coordinator COORD (c:1) decided T COMMITTED", hard: true},
		{name: "coordinator alive, same outcome: it finishes itself",
			coord:   coordView(wire.StateCommitted, false),
			members: []*nodeView{member("B", ready, false, true, false)},
			commit:  true, refuse: "is reachable and decided it COMMITTED"},
		{name: "coordinator alive and undecided",
			coord:   coordView(wire.StateInit, false),
			members: []*nodeView{member("B", ready, false, true, false)},
			refuse:  "is reachable and can still decide it"},
		{name: "coordinator alive, forced",
			coord:   coordView(wire.StateInit, false),
			members: []*nodeView{member("B", ready, false, true, false), member("C", ready, false, false, false)},
			force:   true, targets: "B,C"},
		{name: "B committed heuristically, C asked to abort: refused even forced",
			coord:   coordView("", true),
			members: []*nodeView{member("C", ready, false, true, false), member("B", wire.StateCommitted, true, false, false)},
			force:   true, refuse: "participant B (b:1) has already COMMITTED T (heuristically): a participant cannot undo", hard: true},
		{name: "B committed by the protocol: the others learn it",
			coord:   coordView("", true),
			members: []*nodeView{member("C", ready, false, true, false), member("B", wire.StateCommitted, false, false, false)},
			commit:  true, refuse: "has COMMITTED by the protocol"},
		{name: "B committed heuristically: C may follow",
			coord:   coordView("", true),
			members: []*nodeView{member("C", ready, false, true, false), member("B", wire.StateCommitted, true, false, false)},
			commit:  true, targets: "C"},
		{name: "3PC decides by itself",
			coord:   coordView("", true),
			members: []*nodeView{member("B", ready, false, true, false)},
			proto:   wire.ThreePC, refuse: "it is 3PC"},
		{name: "coordinator gone: every member in doubt, unreachable ones listed",
			coord: coordView("", true),
			members: []*nodeView{member("B", ready, false, true, false), member("C", wire.StatePrecommitted, false, false, false),
				member("D", "", false, false, true)},
			targets: "B,C", missing: "D"},
		{name: "only the named one",
			coord:   coordView("", true),
			members: []*nodeView{member("B", ready, false, true, false), member("C", ready, false, false, false)},
			only:    true, targets: "B"},
		{name: "nothing in doubt",
			coord:   coordView("", true),
			members: []*nodeView{member("B", "", false, false, false)},
			refuse:  "no reachable participant holds T in doubt"},
	}
	for _, tc := range cases {
		sv := &survey{txid: "T", proto: tc.proto, coord: tc.coord, members: tc.members}
		if sv.proto == "" {
			sv.proto = wire.TwoPC
		}
		p := planResolve(sv, tc.commit, tc.force, tc.only)
		switch {
		case tc.refuse != "" && (!strings.Contains(p.refuse, tc.refuse) || p.hard != tc.hard):
			t.Errorf("%s: refuse %q hard=%v, want %q hard=%v", tc.name, p.refuse, p.hard, tc.refuse, tc.hard)
		case tc.refuse == "" && p.refuse != "":
			t.Errorf("%s: refused: %s", tc.name, p.refuse)
		case tc.refuse == "" && (ids(p.targets) != tc.targets || ids(p.missing) != tc.missing):
			t.Errorf("%s: targets %q missing %q, want %q %q", tc.name, ids(p.targets), ids(p.missing), tc.targets, tc.missing)
		}
		if tc.force && tc.refuse == "" && len(p.overridden) == 0 && tc.coord.reachable() {
			t.Errorf("%s: forced past the live coordinator without saying so", tc.name)
		}
	}
}

// resolveCluster is a fake cluster for resolve: participants by address,
// each with its state for TX1 (members B at b:1 and C at c:1, coordinator
// COORD at k:1, up when coord is set), recording the Resolve calls.
type resolveCluster struct {
	mu    sync.Mutex
	parts map[string]wire.State // id → state
	heur  map[string]bool       // id → its state was applied by resolve
	coord *wire.TxStatus        // nil: the coordinator is down
	calls []string
}

func (rcl *resolveCluster) dial(_ context.Context, addr string) (client, error) {
	switch addr {
	case "b:1", "c:1":
		id := strings.ToUpper(addr[:1])
		n := &fakeNode{hello: wire.HelloAck{Version: wire.Version, NodeID: id, Role: wire.RoleParticipant}}
		n.status = func(context.Context) (*wire.Status, error) {
			rcl.mu.Lock()
			defer rcl.mu.Unlock()
			tx := wire.TxStatus{TxID: "TX1", Protocol: wire.TwoPC, State: rcl.parts[id], Heuristic: rcl.heur[id], Prepared: 1e9}
			if inDoubtState(tx.State) {
				tx.Doubt = &wire.TxDoubt{Coord: "COORD", CoordAddr: "k:1", Members: []wire.Member{{ID: "B", Addr: "b:1"}, {ID: "C", Addr: "c:1"}}}
			}
			return &wire.Status{NodeID: id, Role: wire.RoleParticipant, Now: 13e9, Transactions: []wire.TxStatus{tx}}, nil
		}
		calls := []string{}
		return &resolveNode{fakeClient: fakeClient{n}, calls: &calls, answer: func(txid string, commit bool) (*wire.ResolveResult, error) {
			rcl.mu.Lock()
			defer rcl.mu.Unlock()
			rcl.calls = append(rcl.calls, fmt.Sprintf("%s %s %v", id, txid, commit))
			st := outcomeState(commit)
			rcl.parts[id] = st
			if rcl.heur == nil {
				rcl.heur = map[string]bool{}
			}
			rcl.heur[id] = true
			return &wire.ResolveResult{TxID: txid, State: st, Applied: true, Heuristic: true}, nil
		}}, nil
	case "k:1":
		rcl.mu.Lock()
		defer rcl.mu.Unlock()
		if rcl.coord == nil {
			return nil, fmt.Errorf("wire: dial k:1: connect: connection refused")
		}
		tx := *rcl.coord
		n := &fakeNode{hello: coordHello(), status: func(context.Context) (*wire.Status, error) {
			return &wire.Status{NodeID: "COORD", Role: wire.RoleCoordinator, Transactions: []wire.TxStatus{tx},
				Participants: []wire.PeerStatus{{ID: "B", Addr: "b:1", Connected: true}, {ID: "C", Addr: "c:1", Connected: true}}}, nil
		}}
		return &fakeClient{n}, nil
	}
	return nil, fmt.Errorf("wire: dial %s: connect: connection refused", addr)
}

// One command resolves every member in doubt, having asked each first.
func TestResolveEveryMember(t *testing.T) {
	clearEnv(t)
	rcl := &resolveCluster{parts: map[string]wire.State{"B": wire.StateReady, "C": wire.StateReady}}
	r := txcliIn(t, rcl.dial, "", false, "--json", "--participant", "b:1", "resolve", "--yes", "TX1", "commit")
	if r.code != exitOK || strings.Join(rcl.calls, ";") != "B TX1 true;C TX1 true" && strings.Join(rcl.calls, ";") != "C TX1 true;B TX1 true" {
		t.Fatalf("exit %d, calls %q, stderr %q", r.code, rcl.calls, r.errOut)
	}
	if !strings.Contains(r.errOut, "participant C at c:1: READY for 12s -> COMMIT") {
		t.Errorf("the plan does not show C in doubt for 12s: %q", r.errOut)
	}
	m := decodeJSON(t, r.out)
	if ms, _ := m["members"].([]any); len(ms) != 2 || m["applied"] != true {
		t.Errorf("JSON %s", r.out)
	}
	// Done: a second run finds nothing in doubt and says so.
	r = txcliIn(t, rcl.dial, "", false, "--participant", "c:1", "resolve", "--yes", "TX1", "commit")
	if r.code != exitOK || len(rcl.calls) != 3 || !strings.Contains(r.out, "C on participant") && !strings.Contains(r.out, "TX1 on participant C") {
		t.Errorf("second run: exit %d, calls %q, out %q, err %q", r.code, rcl.calls, r.out, r.errOut)
	}
}

// The scenario of issue 16: the coordinator is alive and decided COMMIT.
// Resolve refuses ABORT (even forced) and COMMIT (unless forced); a forced
// one says so on every participant.
func TestResolveRefusesWithLiveCoordinator(t *testing.T) {
	clearEnv(t)
	rcl := &resolveCluster{parts: map[string]wire.State{"B": wire.StateReady, "C": wire.StateReady},
		coord: &wire.TxStatus{TxID: "TX1", Protocol: wire.TwoPC, State: wire.StateCommitted,
			Participants: map[string]wire.State{"B": wire.StateCommitted, "C": wire.StateCommitted}}}
	for _, args := range [][]string{
		{"--participant", "c:1", "resolve", "--yes", "TX1", "abort"},
		{"--participant", "c:1", "resolve", "--yes", "--force", "TX1", "abort"},
		{"--participant", "c:1", "resolve", "--yes", "TX1", "commit"},
	} {
		r := txcliIn(t, rcl.dial, "", false, args...)
		if r.code != exitAborted || !strings.Contains(r.errOut, "resolve refused") || len(rcl.calls) != 0 {
			t.Fatalf("%q: exit %d, stderr %q, calls %q", args, r.code, r.errOut, rcl.calls)
		}
	}
	r := txcliIn(t, rcl.dial, "", false, "--participant", "c:1", "resolve", "--yes", "--force", "TX1", "commit")
	if r.code != exitOK || len(rcl.calls) != 2 || !strings.Contains(r.errOut, "--force overrides a safety check: the coordinator COORD (k:1) is reachable") {
		t.Fatalf("forced: exit %d, stderr %q, calls %q", r.code, r.errOut, rcl.calls)
	}

	// Coordinator gone; B committed heuristically: ABORT on C is refused.
	rcl = &resolveCluster{parts: map[string]wire.State{"B": wire.StateCommitted, "C": wire.StateReady}, heur: map[string]bool{"B": true}}
	r = txcliIn(t, rcl.dial, "", false, "--endpoints", "c:1,b:1", "resolve", "--yes", "TX1", "abort")
	if r.code != exitAborted || !strings.Contains(r.errOut, "participant B (b:1) has already COMMITTED TX1") || len(rcl.calls) != 0 {
		t.Fatalf("contradiction: exit %d, stderr %q, calls %q", r.code, r.errOut, rcl.calls)
	}
}
