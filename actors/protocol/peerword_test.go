package protocol

import (
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

// A peer's word (peerword.go): participant C of {A, B, C} hears another
// member's Decision, PreCommit or QueryReply.

// readyAs makes participant self READY on TX1 of members abc under proto.
func readyAs(t *testing.T, self string, proto wire.Protocol) *Participant {
	t.Helper()
	p := newPartAs(t, self, nil)
	m := prepare3("TX1", abc, set("k", "v"))
	m.Protocol = proto
	rec := p.Prepare(m)[0].(Persist).Rec
	wantKinds(t, "Logged(PREPARED)", p.Logged(rec), "send TC VOTE-YES TX1", "timer TX1 #1")
	return p
}

// wantRefused: effs is one refusal of from's message of type typ.
func wantRefused(t *testing.T, what string, effs []Effect, from string, typ wire.Type, reason string) {
	t.Helper()
	wantKinds(t, what, effs, "refused "+from+" "+typ.String()+" TX1")
	if r := effs[0].(Refused); !strings.Contains(r.Reason, reason) {
		t.Fatalf("%s: reason %q, want it to say %q", what, r.Reason, reason)
	}
}

func (p *Participant) wantState(t *testing.T, st wire.State) {
	t.Helper()
	if got := p.txns["TX1"].state; got != st || p.txns["TX1"].pending != pendNone {
		t.Fatalf("TX1 is %q (pending %d), want %q", got, p.txns["TX1"].pending, st)
	}
}

// The attack of issue 12: the coordinator is alive (it answers, deciding
// slowly: --delay), and B's certificate tells C the outcome. C refuses
// both ways, under both protocols, and takes the coordinator's word.
func TestPeerDecisionWhileCoordinatorAlive(t *testing.T) {
	for _, proto := range []wire.Protocol{wire.TwoPC, wire.ThreePC} {
		for _, commit := range []bool{false, true} {
			t.Run(string(proto)+"/"+verb(commit), func(t *testing.T) {
				p := readyAs(t, "C", proto)
				d := &wire.Decision{TxID: "TX1", Commit: commit, Reason: "B says so"}
				want := "not silent"
				if proto == wire.TwoPC {
					want = "runs 2PC"
				}
				wantRefused(t, "before any tick", p.PeerDecision("B", d), "B", wire.TypeDecision, want)
				// C asks; the coordinator answers "alive, undecided".
				wantKinds(t, "tick 1", p.Timer("TX1", 1), coordKinds(2)...)
				p.QueryReply(&wire.QueryReply{TxID: "TX1", From: coordID, State: wire.StateInit})
				wantKinds(t, "tick 2", p.Timer("TX1", 2), coordKinds(3)...)
				wantRefused(t, "coordinator alive", p.PeerDecision("B", d), "B", wire.TypeDecision, want)
				wantRefused(t, "PreCommit", p.PeerPreCommit("B", &wire.PreCommit{TxID: "TX1"}), "B", wire.TypePreCommit, want)
				p.wantState(t, wire.StateReady)
				if len(p.Locked()) != 1 {
					t.Fatalf("locks %v", p.Locked())
				}
				// The coordinator's decision, the other way, is obeyed.
				effs := p.Decision(coordID, &wire.Decision{TxID: "TX1", Commit: !commit})
				kind := map[bool]string{true: "COMMIT", false: "ABORT"}[!commit]
				wantKinds(t, "coordinator decides", effs, "persist forced "+kind+" TX1")
				wantKinds(t, "durable", p.Logged(effs[0].(Persist).Rec), "send TC ACK TX1 "+string(outcome(!commit)))
				// Decided: a peer's word changes nothing and is not refused.
				wantKinds(t, "after", p.PeerDecision("B", d), "send TC ACK TX1 "+string(outcome(!commit)))
			})
		}
	}
}

// In 2PC a peer never decides, even with the coordinator silent: its word
// is its QueryReply, and only once C asked.
func TestPeerWord2PC(t *testing.T) {
	p := readyAs(t, "C", wire.TwoPC)
	wantRefused(t, "unasked", p.QueryReply(qr("B", wire.StateAborted)), "B", wire.TypeQueryReply, "not asked")
	wantKinds(t, "tick 1", p.Timer("TX1", 1), coordKinds(2)...)
	wantKinds(t, "peer round", p.Timer("TX1", 2), roundKinds("C", 3)...)
	wantRefused(t, "Decision", p.PeerDecision("A", abortMsg("TX1", "")), "A", wire.TypeDecision, "runs 2PC")
	wantRefused(t, "PreCommit", p.PeerPreCommit("A", &wire.PreCommit{TxID: "TX1"}), "A", wire.TypePreCommit, "runs 2PC")
	p.wantState(t, wire.StateReady)
	// Asked: B's answer is the outcome (cooperative termination).
	wantKinds(t, "asked", p.QueryReply(qr("B", wire.StateCommitted)), "persist forced COMMIT TX1")
}

// In 3PC a lower member leads once C itself finds the coordinator silent:
// its PRE-COMMIT and its outcome are taken; a member not lower, a stranger,
// or anyone while the coordinator speaks again, is refused.
func TestPeerWord3PCLeader(t *testing.T) {
	p := readyAs(t, "C", wire.ThreePC)
	wantKinds(t, "tick 1", p.Timer("TX1", 1), coordKinds(2)...)
	// Asked once, no answer yet: not silent for a whole interval.
	wantRefused(t, "too early", p.PeerPreCommit("A", &wire.PreCommit{TxID: "TX1"}), "A", wire.TypePreCommit, "not silent")
	wantKinds(t, "peer round", p.Timer("TX1", 2), roundKinds("C", 3)...)

	wantRefused(t, "stranger", p.PeerDecision("D", abortMsg("TX1", "")), "D", wire.TypeDecision, "no member")
	// Its own id is not lower than its own (the policy refuses a peer
	// claiming it before this; the machine does too).
	wantRefused(t, "not lower", p.PeerPreCommit("C", &wire.PreCommit{TxID: "TX1"}), "C", wire.TypePreCommit, "lower id")

	// The coordinator is heard again: it decides, nobody else.
	p.QueryReply(&wire.QueryReply{TxID: "TX1", From: coordID, State: wire.StateInit})
	wantRefused(t, "alive again", p.PeerPreCommit("A", &wire.PreCommit{TxID: "TX1"}), "A", wire.TypePreCommit, "not silent")
	wantKinds(t, "tick 3", p.Timer("TX1", 3), coordKinds(4)...)
	wantKinds(t, "silent again", p.Timer("TX1", 4), roundKinds("C", 5)...)

	// The leader A pre-commits C, then announces COMMIT.
	effs := p.PeerPreCommit("A", &wire.PreCommit{TxID: "TX1"})
	wantKinds(t, "leader's PRE-COMMIT", effs, "persist forced PRECOMMIT TX1")
	wantKinds(t, "durable", p.Logged(effs[0].(Persist).Rec), "timer TX1 #6", "send A ACK TX1 PRECOMMITTED")
	effs = p.PeerDecision("B", commitMsg("TX1"))
	wantKinds(t, "leader's COMMIT", effs, "persist forced COMMIT TX1")
	wantKinds(t, "durable", p.Logged(effs[0].(Persist).Rec), "send TC ACK TX1 COMMITTED")
}

// After a restart C has not found the coordinator silent yet: a leader's
// announcement is refused (a lost message to the protocol), and C's own
// round learns the outcome from the leader's answer.
func TestPeerWord3PCAfterRestart(t *testing.T) {
	p := newPartAs(t, "C", nil)
	m := prepare3("TX1", abc, set("k", "v"))
	if err := p.Replay(Record{Kind: RecPrepared, TxID: "TX1", Protocol: wire.ThreePC, Ops: m.Ops,
		Coord: coordID, CoordAddr: coordAddr, Members: m.Members}); err != nil {
		t.Fatal(err)
	}
	wantKinds(t, "Recovered", p.Recovered(), "send TC QUERY TX1", "timer TX1 #1")
	wantRefused(t, "announce", p.PeerDecision("A", abortMsg("TX1", "termination")), "A", wire.TypeDecision, "not silent")
	wantKinds(t, "round", p.Timer("TX1", 1), roundKinds("C", 2)...)
	wantKinds(t, "A answers", p.QueryReply(qr("A", wire.StateAborted)), "persist forced ABORT TX1")
}

// A peer's Decision about a transaction not prepared here: an ABORT is
// refused (it would make C vote NO on a PREPARE still on its way); what
// changes nothing is answered as before.
func TestPeerDecisionUnknown(t *testing.T) {
	p := newPartAs(t, "C", nil)
	wantRefused(t, "ABORT", p.PeerDecision("B", abortMsg("TX1", "")), "B", wire.TypeDecision, "not prepared here")
	if _, txs := p.Status(); len(txs) != 0 {
		t.Fatalf("status %+v", txs)
	}
	wantKinds(t, "COMMIT", p.PeerDecision("B", commitMsg("TX1")), "send B ACK TX1 ")
	wantKinds(t, "PreCommit", p.PeerPreCommit("B", &wire.PreCommit{TxID: "TX1"}))
	// Not voted yet (PREPARED being written). In 2PC nobody but the
	// coordinator decides; in 3PC a member's ABORT is taken (a termination
	// leader that did not hear C), not its COMMIT, nor a stranger's ABORT.
	m := prepare3("TX1", abc, set("k", "v"))
	m.Protocol = wire.TwoPC
	p.Prepare(m)
	wantRefused(t, "2PC, PREPARED pending", p.PeerDecision("B", abortMsg("TX1", "")), "B", wire.TypeDecision, "runs 2PC")
	p = newPartAs(t, "C", nil)
	p.Prepare(prepare3("TX1", abc, set("k", "v")))
	wantRefused(t, "3PC COMMIT, PREPARED pending", p.PeerDecision("B", commitMsg("TX1")), "B", wire.TypeDecision, "no vote here yet")
	wantRefused(t, "stranger", p.PeerDecision("D", abortMsg("TX1", "")), "D", wire.TypeDecision, "no member")
	wantKinds(t, "3PC ABORT, PREPARED pending", p.PeerDecision("B", abortMsg("TX1", "")), "persist forced ABORT TX1")
}

// An operator's outcome: a peer's contradicting decision is damage only
// where a peer may decide at all (3PC); in 2PC it is refused.
func TestPeerDecisionHeuristic(t *testing.T) {
	for _, proto := range []wire.Protocol{wire.TwoPC, wire.ThreePC} {
		p := readyAs(t, "C", proto)
		effs := p.Resolve(1, &wire.Resolve{ReqID: 10, TxID: "TX1", Commit: true})
		p.Logged(effs[0].(Persist).Rec)
		effs = p.PeerDecision("B", abortMsg("TX1", "termination"))
		if proto == wire.TwoPC {
			wantRefused(t, "2PC", effs, "B", wire.TypeDecision, "runs 2PC")
			continue
		}
		wantKinds(t, "3PC", effs, "protocol.Alarm", "persist forced HEURISTIC-DAMAGE TX1")
	}
}

// A higher member never leads a lower one that is live.
func TestPeerWord3PCHigherRefused(t *testing.T) {
	p := newPartAs(t, "B", nil)
	rec := p.Prepare(prepare3("TX1", abc, set("k", "v")))[0].(Persist).Rec
	p.Logged(rec)
	wantKinds(t, "tick 1", p.Timer("TX1", 1), coordKinds(2)...)
	wantKinds(t, "peer round", p.Timer("TX1", 2), roundKinds("B", 3)...)
	wantRefused(t, "C", p.PeerPreCommit("C", &wire.PreCommit{TxID: "TX1"}), "C", wire.TypePreCommit, "lower id")
	wantRefused(t, "C", p.PeerDecision("C", commitMsg("TX1")), "C", wire.TypeDecision, "lower id")
	wantKinds(t, "A", p.PeerDecision("A", commitMsg("TX1")), "persist forced COMMIT TX1")
}
