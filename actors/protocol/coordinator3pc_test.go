package protocol

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// Direct tests of a 3PC CoordTxn: each event in, the exact effects out.

func newCoord3(t *testing.T, delay time.Duration, ids ...string) *CoordTxn {
	t.Helper()
	c := newCoord(t, delay, ids...)
	c.protocol = wire.ThreePC
	return c
}

// preRec: every vote is YES while BEGIN is not yet durable; PRE-COMMIT is
// logged lazily and waits for BEGIN (see beginOf).
func preRec(t *testing.T, effs []Effect) Record {
	t.Helper()
	ps := persists(effs)
	if len(effs) != 1 || len(ps) != 1 || ps[0].Rec.Kind != RecPreCommit || ps[0].Force {
		t.Fatalf("want one lazy PRECOMMIT and nothing else, got %q", kinds(effs))
	}
	return ps[0].Rec
}

// beginOf is the BEGIN record of c, whose durability lets PRE-COMMIT go.
func beginOf(c *CoordTxn) Record {
	return Record{Kind: RecBegin, TxID: c.id, Protocol: c.protocol, Members: c.members}
}

func wantCoordState(t *testing.T, c *CoordTxn, outcome, status wire.State, decided bool) {
	t.Helper()
	if got := c.Outcome(); got != outcome {
		t.Fatalf("Outcome %q, want %q", got, outcome)
	}
	if got := c.Status().State; got != status {
		t.Fatalf("Status.State %q, want %q", got, status)
	}
	if d, _, _ := c.Decided(); d != decided {
		t.Fatalf("Decided %v, want %v", d, decided)
	}
}

// 3PC commit: BEGIN forced, CAN-COMMIT → all YES (PRECOMMIT logged lazily) →
// BEGIN durable → PRE-COMMIT sent →
// all acks PRECOMMITTED → DECISION forced → reply, DO-COMMIT → acks → END.
func TestCoord3PCCommitFlow(t *testing.T) {
	c := newCoord3(t, 0, abc...)
	effs := c.Start()
	wantKinds(t, "Start", effs, "persist forced BEGIN TX1", "send A PREPARE TX1", "send B PREPARE TX1",
		"send C PREPARE TX1", "timer TX1 #1")
	if rec := effs[0].(Persist).Rec; rec.Protocol != wire.ThreePC {
		t.Fatalf("BEGIN %+v", rec)
	}
	for _, s := range sends(effs) {
		if m := s.Msg.(*wire.Prepare); m.Protocol != wire.ThreePC {
			t.Fatalf("CAN-COMMIT %+v", m)
		}
	}
	wantKinds(t, "A", c.Vote(yes("A")))
	wantKinds(t, "B", c.Vote(yes("B")))
	effs = c.Vote(yes("C"))
	wantKinds(t, "C", effs, "persist lazy PRECOMMIT TX1")
	rec := preRec(t, effs)
	if rec.Protocol != wire.ThreePC || !slices.Equal(rec.Members, c.members) || rec.TxID != "TX1" {
		t.Fatalf("PRECOMMIT record %+v", rec)
	}
	// Nothing goes out, and nothing counts as decided, before BEGIN is durable.
	wantCoordState(t, c, wire.StateInit, wire.StateInit, false)
	wantKinds(t, "void vote timer", c.Timer(1))
	wantKinds(t, "ack before PRE-COMMIT was sent", c.Ack(ack("A", wire.StatePrecommitted)))
	wantKinds(t, "duplicate vote", c.Vote(yes("A")))
	wantKinds(t, "Logged(DECISION) out of turn", c.Logged(Record{Kind: RecDecision, TxID: "TX1", Commit: true}))

	effs = c.Logged(beginOf(c))
	wantKinds(t, "Logged(BEGIN)", effs, "send A PRECOMMIT TX1", "send B PRECOMMIT TX1",
		"send C PRECOMMIT TX1", "timer TX1 #3")
	if s := effs[1].(Send); s.Addr != addrOf("B") || s.Msg.(*wire.PreCommit).TxID != "TX1" {
		t.Fatalf("PRE-COMMIT %+v", s)
	}
	if tm := effs[3].(SetTimer); tm.After != voteAfter {
		t.Fatalf("pre-ack timer %v", tm.After)
	}
	wantCoordState(t, c, wire.StatePrecommitted, wire.StatePrecommitted, false)
	wantKinds(t, "Logged(BEGIN) again", c.Logged(beginOf(c)))

	wantKinds(t, "ack A", c.Ack(ack("A", wire.StatePrecommitted)))
	wantKinds(t, "dup ack A", c.Ack(ack("A", wire.StatePrecommitted)))
	wantKinds(t, "stranger", c.Ack(ack("Z", wire.StatePrecommitted)))
	wantKinds(t, "READY ack", c.Ack(ack("B", wire.StateReady)))
	wantKinds(t, "unknown-state ack", c.Ack(ack("B", "")))
	wantKinds(t, "ack B", c.Ack(ack("B", wire.StatePrecommitted)))
	if st := c.Status(); st.Participants["A"] != wire.StatePrecommitted || st.Participants["C"] != wire.StateReady {
		t.Fatalf("status %+v", st)
	}
	effs = c.Ack(ack("C", wire.StatePrecommitted))
	// Everyone is pre-committed: commit is certain, so the client hears it
	// while DO-COMMIT is being logged.
	wantKinds(t, "ack C", effs, "persist forced DECISION TX1", "reply TX1 COMMITTED")
	drec := decision(t, effs)
	if !drec.Commit || drec.Protocol != wire.ThreePC || drec.Reason != "" {
		t.Fatalf("decision %+v", drec)
	}
	wantCoordState(t, c, wire.StateCommitted, wire.StateCommitted, false) // certain, not durable yet
	wantKinds(t, "stale pre-ack timer", c.Timer(3))
	wantKinds(t, "late PRECOMMITTED ack", c.Ack(ack("C", wire.StatePrecommitted)))

	effs = c.Logged(drec)
	wantKinds(t, "Logged(DECISION)", effs, "send A COMMIT TX1", "send B COMMIT TX1",
		"send C COMMIT TX1")
	wantCoordState(t, c, wire.StateCommitted, wire.StateCommitted, true)
	wantKinds(t, "a PRECOMMITTED ack now", c.Ack(ack("A", wire.StatePrecommitted)))
	wantKinds(t, "ack A", c.Ack(ack("A", wire.StateCommitted)))
	wantKinds(t, "ack B", c.Ack(ack("B", wire.StateCommitted)))
	wantKinds(t, "ack C", c.Ack(ack("C", wire.StateCommitted)), "persist lazy END TX1", "finished TX1")
	st := c.Status()
	want := map[string]wire.State{"A": wire.StateCommitted, "B": wire.StateCommitted, "C": wire.StateCommitted}
	if st.State != wire.StateCommitted || st.Protocol != wire.ThreePC || !maps.Equal(st.Participants, want) {
		t.Fatalf("status %+v", st)
	}
}

// BEGIN durable before the last vote (the usual case: its fsync ran
// alongside the participants'): the last YES sends PRE-COMMIT at once.
func TestCoord3PCBeginDurableFirst(t *testing.T) {
	c := newCoord3(t, 0, "A", "B")
	c.Start()
	wantKinds(t, "Logged(BEGIN) while voting", c.Logged(beginOf(c)))
	wantKinds(t, "A", c.Vote(yes("A")))
	wantKinds(t, "B", c.Vote(yes("B")), "persist lazy PRECOMMIT TX1", "send A PRECOMMIT TX1",
		"send B PRECOMMIT TX1", "timer TX1 #3")
	wantCoordState(t, c, wire.StatePrecommitted, wire.StatePrecommitted, false)
}

// --delay pauses before PRE-COMMIT and again before DO-COMMIT.
func TestCoord3PCDelay(t *testing.T) {
	c := newCoord3(t, 5*time.Second, "A", "B")
	c.Start()
	c.Vote(yes("A"))
	preRec(t, c.Vote(yes("B")))
	effs := c.Logged(beginOf(c))
	wantKinds(t, "Logged(BEGIN)", effs, "timer TX1 #3")
	if tm := effs[0].(SetTimer); tm.After != 5*time.Second {
		t.Fatalf("delay %v", tm.After)
	}
	// PRE-COMMIT is durable: a participant asking is told PRECOMMITTED.
	wantCoordState(t, c, wire.StatePrecommitted, wire.StatePrecommitted, false)
	wantKinds(t, "ack during the delay", c.Ack(ack("A", wire.StatePrecommitted)))
	wantKinds(t, "old timer", c.Timer(2))
	wantKinds(t, "delay over", c.Timer(3), "send A PRECOMMIT TX1", "send B PRECOMMIT TX1", "timer TX1 #4")
	wantKinds(t, "delay timer again", c.Timer(3))
	c.Ack(ack("A", wire.StatePrecommitted))
	effs = c.Ack(ack("B", wire.StatePrecommitted))
	wantKinds(t, "ack B", effs, "persist forced DECISION TX1", "reply TX1 COMMITTED")
	drec := decision(t, effs)
	wantKinds(t, "Logged(DECISION)", c.Logged(drec), "timer TX1 #6")
	wantCoordState(t, c, wire.StateCommitted, wire.StateCommitted, true)
	wantKinds(t, "delay over", c.Timer(6), "send A COMMIT TX1", "send B COMMIT TX1")
	c.Ack(ack("A", wire.StateCommitted))
	wantKinds(t, "ack B", c.Ack(ack("B", wire.StateCommitted)), "persist lazy END TX1", "finished TX1")
}

// Any NO, or a vote timeout, aborts exactly as in 2PC: no PRE-COMMIT.
func TestCoord3PCAbortLike2PC(t *testing.T) {
	for _, n := range []int{2, 3} {
		ids := abc[:n]
		for mask := 0; mask < 1<<n-1; mask++ { // at least one NO
			for _, order := range permutations(ids) {
				name := fmt.Sprintf("%s/yes%0*b", strings.Join(order, ""), n, mask)
				c2, c3 := newCoord(t, 0, ids...), newCoord3(t, 0, ids...)
				c2.Start()
				c3.Start()
				var e2, e3 []Effect
				for _, id := range order {
					v := yes(id)
					if mask&(1<<slices.Index(ids, id)) == 0 {
						v = no(id, id+" says no")
					}
					e2 = append(e2, c2.Vote(v)...)
					e3 = append(e3, c3.Vote(v)...)
				}
				if !slices.Equal(kinds(e2), kinds(e3)) {
					t.Fatalf("%s: 3PC %q, 2PC %q", name, kinds(e3), kinds(e2))
				}
				r2, r3 := decision(t, e2), decision(t, e3)
				if r3.Commit || r3.Reason != r2.Reason || r3.Protocol != wire.ThreePC {
					t.Fatalf("%s: decision %+v", name, r3)
				}
				if l2, l3 := c2.Logged(r2), c3.Logged(r3); !slices.Equal(kinds(l2), kinds(l3)) {
					t.Fatalf("%s: Logged 3PC %q, 2PC %q", name, kinds(l3), kinds(l2))
				}
			}
		}
	}
	t.Run("vote timeout", func(t *testing.T) {
		c := newCoord3(t, 0, abc...)
		c.Start()
		c.Vote(yes("A"))
		c.Vote(yes("C"))
		rec := decision(t, c.Timer(1))
		if rec.Commit || rec.Reason != "no vote from B within 1s" {
			t.Fatalf("decision %+v", rec)
		}
		wantKinds(t, "Logged", c.Logged(rec), "send A ABORT TX1", "send B ABORT TX1", "send C ABORT TX1",
			"reply TX1 ABORTED")
		// A late YES now must hear ABORT and is awaited.
		wantKinds(t, "late YES", c.Vote(yes("B")), "send B ABORT TX1")
		c.Ack(ack("A", wire.StateAborted))
		c.Ack(ack("C", wire.StateAborted))
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateAborted)), "persist lazy END TX1", "finished TX1")
	})
}

// While PRE-COMMIT is out, a participant's termination protocol may already
// have decided; the coordinator follows it. A timeout commits: everyone
// voted YES.
func TestCoord3PCPreAckOutcomes(t *testing.T) {
	start := func(t *testing.T) *CoordTxn {
		c := newCoord3(t, 0, abc...)
		c.Start()
		c.Vote(yes("A"))
		c.Vote(yes("B"))
		preRec(t, c.Vote(yes("C")))
		wantKinds(t, "Logged(BEGIN)", c.Logged(beginOf(c)),
			"send A PRECOMMIT TX1", "send B PRECOMMIT TX1", "send C PRECOMMIT TX1", "timer TX1 #3")
		return c
	}
	t.Run("ABORTED ack aborts; READY and PRECOMMITTED members must ack the ABORT", func(t *testing.T) {
		c := start(t)
		wantKinds(t, "ack A", c.Ack(ack("A", wire.StatePrecommitted)))
		effs := c.Ack(ack("B", wire.StateAborted))
		rec := decision(t, effs)
		if rec.Commit || rec.Reason != "B: aborted by the termination protocol" {
			t.Fatalf("decision %+v", rec)
		}
		wantKinds(t, "stale pre-ack timer", c.Timer(3))
		wantKinds(t, "C's PRECOMMITTED ack while logging", c.Ack(ack("C", wire.StatePrecommitted)))
		// A is PRECOMMITTED, C READY as far as the coordinator knows (its
		// ack came too late to count): both hear ABORT; B already knows.
		effs = c.Logged(rec)
		wantKinds(t, "Logged", effs, "send A ABORT TX1", "send C ABORT TX1", "reply TX1 ABORTED")
		if r := replyOf(t, effs); r.Reason != rec.Reason {
			t.Fatalf("reply %+v", r)
		}
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateAborted)))
		wantKinds(t, "ack A", c.Ack(ack("A", wire.StateAborted)))
		wantKinds(t, "ack C", c.Ack(ack("C", wire.StateAborted)), "persist lazy END TX1", "finished TX1")
	})
	t.Run("COMMITTED ack commits", func(t *testing.T) {
		c := start(t)
		effs := c.Ack(ack("C", wire.StateCommitted))
		// A participant committed: the client hears it at once.
		wantKinds(t, "COMMITTED ack", effs, "persist forced DECISION TX1", "reply TX1 COMMITTED")
		rec := decision(t, effs)
		if !rec.Commit {
			t.Fatalf("decision %+v", rec)
		}
		wantKinds(t, "Logged", c.Logged(rec), "send A COMMIT TX1", "send B COMMIT TX1",
			"send C COMMIT TX1")
		c.Ack(ack("A", wire.StateCommitted))
		c.Ack(ack("C", wire.StateCommitted))
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateCommitted)), "persist lazy END TX1", "finished TX1")
	})
	t.Run("timeout commits", func(t *testing.T) {
		c := start(t)
		c.Ack(ack("A", wire.StatePrecommitted))
		wantKinds(t, "wrong seq", c.Timer(2))
		rec := decision(t, c.Timer(3))
		if !rec.Commit {
			t.Fatalf("decision %+v", rec)
		}
		wantKinds(t, "Logged", c.Logged(rec), "send A COMMIT TX1", "send B COMMIT TX1", "send C COMMIT TX1",
			"reply TX1 COMMITTED")
		c.Ack(ack("A", wire.StateCommitted))
		c.Ack(ack("B", wire.StateCommitted))
		wantKinds(t, "ack C", c.Ack(ack("C", wire.StateCommitted)), "persist lazy END TX1", "finished TX1")
	})
	t.Run("late NO and YES after PRE-COMMIT change nothing", func(t *testing.T) {
		c := start(t)
		wantKinds(t, "late NO", c.Vote(no("A", "x")))
		wantKinds(t, "late YES", c.Vote(yes("A")))
		c.Ack(ack("A", wire.StatePrecommitted))
		c.Ack(ack("B", wire.StatePrecommitted))
		if !decision(t, c.Ack(ack("C", wire.StatePrecommitted))).Commit {
			t.Fatal("not commit")
		}
	})
}

// A restarted 3PC coordinator with a decision delivers it again; without
// one it asks the participants and decides by TerminationRule.
func TestCoord3PCRecover(t *testing.T) {
	cfg := CoordConfig{NodeID: coordID, Addr: coordAddr, Vote: voteAfter, Delay: time.Hour}
	ms := []wire.Member{{ID: "A", Addr: "a:1"}, {ID: "B", Addr: "b:1"}}
	t.Run("decided commit", func(t *testing.T) {
		c := RecoverCoordTxn(cfg, "TX1", wire.ThreePC, ms, true, true, "")
		wantKinds(t, "Start", c.Start(), "send A COMMIT TX1", "send B COMMIT TX1")
		wantKinds(t, "query reply", c.QueryReply(&wire.QueryReply{TxID: "TX1", From: "A", State: wire.StateReady}))
		wantKinds(t, "ack A", c.Ack(ack("A", wire.StateCommitted)))
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateCommitted)), "persist lazy END TX1", "finished TX1")
	})
	t.Run("decided abort", func(t *testing.T) {
		c := RecoverCoordTxn(cfg, "TX1", wire.ThreePC, ms, true, false, "B: no")
		wantKinds(t, "Start", c.Start(), "send A ABORT TX1", "send B ABORT TX1")
		wantKinds(t, "ack A", c.Ack(ack("A", wire.StateAborted)))
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateAborted)), "persist lazy END TX1", "finished TX1")
	})

	undecided := func(t *testing.T) *CoordTxn {
		c := RecoverCoordTxn(cfg, "TX1", wire.ThreePC, ms, false, false, "")
		effs := c.Start()
		wantKinds(t, "Start", effs, "send A QUERY TX1", "send B QUERY TX1", "timer TX1 #1")
		for i, s := range sends(effs) {
			if q := s.Msg.(*wire.Query); q.From != coordID || s.Addr != ms[i].Addr {
				t.Fatalf("query %+v to %q", q, s.Addr)
			}
		}
		wantCoordState(t, c, wire.StateInit, wire.StateInit, false)
		return c
	}
	qr := func(from string, st wire.State) *wire.QueryReply {
		return &wire.QueryReply{TxID: "TX1", From: from, State: st}
	}

	// Every pair of answers: the decision is TerminationRule's, and it is
	// delivered to and acked by every member (the coordinator does not
	// know who voted), including one that told us it had aborted.
	states := []wire.State{wire.StateReady, wire.StatePrecommitted, wire.StateCommitted, wire.StateAborted}
	for _, a := range states {
		for _, b := range states {
			if (a == wire.StateCommitted && b == wire.StateAborted) || (a == wire.StateAborted && b == wire.StateCommitted) {
				continue // cannot happen
			}
			t.Run(fmt.Sprintf("undecided %s/%s", a, b), func(t *testing.T) {
				c := undecided(t)
				wantKinds(t, "stranger", c.QueryReply(qr("Z", wire.StateCommitted)))
				wantKinds(t, "A", c.QueryReply(qr("A", a)))
				wantKinds(t, "A again", c.QueryReply(qr("A", a)))
				effs := c.QueryReply(qr("B", b))
				rec := decision(t, effs)
				wantCommit, why := TerminationRule(map[string]wire.State{"A": a, "B": b})
				if rec.Commit != wantCommit || rec.Reason != "recovered: "+why {
					t.Fatalf("decision %+v, want commit=%v (%s)", rec, wantCommit, why)
				}
				wantKinds(t, "duplicate reply", c.QueryReply(qr("B", b)))
				wantKinds(t, "stale timer", c.Timer(1))
				out := "ABORT"
				if wantCommit {
					out = "COMMIT"
				}
				// No --delay in recovery.
				wantKinds(t, "Logged", c.Logged(rec), "send A "+out+" TX1", "send B "+out+" TX1",
					"reply TX1 "+string(c.Outcome()))
				final := wire.StateAborted
				if wantCommit {
					final = wire.StateCommitted
				}
				wantKinds(t, "ack A", c.Ack(ack("A", final)))
				wantKinds(t, "ack B", c.Ack(ack("B", final)), "persist lazy END TX1", "finished TX1")
			})
		}
	}
	t.Run("timer decides with whoever answered", func(t *testing.T) {
		c := undecided(t)
		wantKinds(t, "A", c.QueryReply(qr("A", wire.StatePrecommitted)))
		rec := decision(t, c.Timer(1))
		if !rec.Commit || rec.Reason != "recovered: A was pre-committed" {
			t.Fatalf("decision %+v", rec)
		}
		wantKinds(t, "B answers late", c.QueryReply(qr("B", wire.StateReady)))
		wantKinds(t, "Logged", c.Logged(rec), "send A COMMIT TX1", "send B COMMIT TX1", "reply TX1 COMMITTED")
	})
	t.Run("nobody answers: ask again", func(t *testing.T) {
		c := undecided(t)
		wantKinds(t, "timer", c.Timer(1), "send A QUERY TX1", "send B QUERY TX1", "timer TX1 #2")
		wantKinds(t, "stale", c.Timer(1))
		wantKinds(t, "timer", c.Timer(2), "send A QUERY TX1", "send B QUERY TX1", "timer TX1 #3")
		// Votes and acks from before the crash change nothing meanwhile.
		wantKinds(t, "old vote", c.Vote(yes("A")))
		wantKinds(t, "old ack", c.Ack(ack("A", wire.StatePrecommitted)))
		wantKinds(t, "B", c.QueryReply(qr("B", wire.StateReady)))
		rec := decision(t, c.Timer(3))
		if rec.Commit || rec.Reason != "recovered: nobody was pre-committed" {
			t.Fatalf("decision %+v", rec)
		}
	})
	t.Run("a 2PC transaction is not queried", func(t *testing.T) {
		c := RecoverCoordTxn(cfg, "TX1", wire.TwoPC, ms, false, false, "")
		effs := c.Start()
		wantKinds(t, "Start", effs, "persist forced DECISION TX1")
		wantKinds(t, "query reply", c.QueryReply(qr("A", wire.StateCommitted)))
		// A NO from before the crash arrives meanwhile: a recovered
		// transaction waits for everyone's ack, so that member must be
		// sent the ABORT too, or it would never finish.
		wantKinds(t, "late NO", c.Vote(&wire.Vote{TxID: "TX1", From: "B", Reason: "no"}))
		wantKinds(t, "Logged", c.Logged(decision(t, effs)), "send A ABORT TX1", "send B ABORT TX1", "reply TX1 ABORTED")
		wantKinds(t, "ack A", c.Ack(ack("A", wire.StateAborted)))
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateAborted)), "persist lazy END TX1", "finished TX1")
	})
}

// TerminationRule, the table.
func TestTerminationRule(t *testing.T) {
	const (
		R = wire.StateReady
		P = wire.StatePrecommitted
		C = wire.StateCommitted
		A = wire.StateAborted
		U = wire.StateUnknown
		I = wire.StateInit
	)
	tests := []struct {
		states map[string]wire.State
		commit bool
		reason string
	}{
		{map[string]wire.State{}, false, "nobody was pre-committed"},
		{map[string]wire.State{"A": R}, false, "nobody was pre-committed"},
		{map[string]wire.State{"A": R, "B": R, "C": R}, false, "nobody was pre-committed"},
		{map[string]wire.State{"A": P}, true, "A was pre-committed"},
		{map[string]wire.State{"A": R, "B": P}, true, "B was pre-committed"},
		{map[string]wire.State{"A": R, "B": P, "C": P}, true, "B was pre-committed"},
		{map[string]wire.State{"A": P, "B": P, "C": P}, true, "A was pre-committed"},
		{map[string]wire.State{"A": C}, true, "A had committed"},
		{map[string]wire.State{"A": R, "B": C}, true, "B had committed"},
		{map[string]wire.State{"A": P, "B": R, "C": C}, true, "C had committed"},
		{map[string]wire.State{"A": C, "B": U}, true, "A had committed"}, // committed beats not-voted
		{map[string]wire.State{"A": A}, false, "A had aborted"},
		{map[string]wire.State{"A": R, "B": A}, false, "B had aborted"},
		{map[string]wire.State{"A": P, "B": A}, false, "B had aborted"},
		{map[string]wire.State{"A": A, "B": U}, false, "A had aborted"}, // aborted named before not-voted
		{map[string]wire.State{"A": R, "B": U}, false, "B had not voted"},
		{map[string]wire.State{"A": P, "B": U}, false, "B had not voted"}, // not voted beats pre-committed
		{map[string]wire.State{"A": P, "B": R, "C": I}, false, "C had not voted"},
		{map[string]wire.State{"A": U, "B": U}, false, "A had not voted"},
	}
	for _, tc := range tests {
		commit, reason := TerminationRule(tc.states)
		if commit != tc.commit || reason != tc.reason {
			t.Errorf("TerminationRule(%v) = %v %q, want %v %q", tc.states, commit, reason, tc.commit, tc.reason)
		}
		// Deterministic: the same answer every time (map order).
		for range 5 {
			if c, r := TerminationRule(tc.states); c != commit || r != reason {
				t.Fatalf("TerminationRule(%v) not deterministic", tc.states)
			}
		}
	}
}

// CoordTxn.Query: the decision only once phase two has begun; nothing
// (the host then says "alive") while voting, pre-committing, logging or
// waiting out --delay; nothing for a stranger.
func TestCoordQuery(t *testing.T) {
	for _, proto := range []wire.Protocol{wire.TwoPC, wire.ThreePC} {
		t.Run(string(proto), func(t *testing.T) {
			c := newCoord(t, time.Second, "A", "B")
			c.protocol = proto
			c.Start()
			wantKinds(t, "voting", c.Query("A"))
			c.Vote(yes("A"))
			effs := c.Vote(yes("B"))
			wantKinds(t, "logging", c.Query("A"))
			if proto == wire.ThreePC {
				preRec(t, effs)
				wantKinds(t, "PRECOMMIT delay", c.Logged(beginOf(c)), "timer TX1 #3")
				wantKinds(t, "pre-delay", c.Query("A"))
				c.Timer(3)
				wantKinds(t, "pre-acking", c.Query("A"))
				c.Ack(ack("A", wire.StatePrecommitted))
				effs = c.Ack(ack("B", wire.StatePrecommitted))
				wantKinds(t, "logging", c.Query("A"))
			}
			effs = c.Logged(decision(t, effs))
			tm := timersOf(effs)
			if len(tm) != 1 {
				t.Fatalf("Logged %q", kinds(effs))
			}
			wantKinds(t, "delay", c.Query("A"))
			if st := c.Status().State; st != wire.StateCommitted {
				t.Fatalf("status during the delay %q", st)
			}
			c.Timer(tm[0].Seq)
			effs = c.Query("A")
			wantKinds(t, "delivering", effs, "send A COMMIT TX1")
			if s := effs[0].(Send); s.Addr != addrOf("A") {
				t.Fatalf("addr %q", s.Addr)
			}
			wantKinds(t, "stranger", c.Query("Z"))
			c.Ack(ack("A", wire.StateCommitted))
			c.Ack(ack("B", wire.StateCommitted))
			wantKinds(t, "done", c.Query("B"), "send B COMMIT TX1")
		})
	}
	t.Run("3PC recovery querying", func(t *testing.T) {
		c := RecoverCoordTxn(CoordConfig{NodeID: coordID, Vote: voteAfter}, "TX1", wire.ThreePC,
			[]wire.Member{{ID: "A"}, {ID: "B"}}, false, false, "")
		c.Start()
		wantKinds(t, "querying", c.Query("A"))
	})
}

// The coordinator's QueryReply only says it is alive, whatever state it
// carries (during --delay the host reports the withheld outcome): a
// participant never adopts it.
func TestParticipantIgnoresCoordinatorState(t *testing.T) {
	for _, st := range []wire.State{wire.StateCommitted, wire.StateAborted, wire.StatePrecommitted} {
		p := newPartAs(t, "A", nil)
		prepared3(t, p, "TX1", abc, set("k", "v"))
		p.Timer("TX1", 1)
		// A peer round is open (the coordinator was silent at tick 2): a
		// silent end would make A (lowest id, all READY) abort.
		wantKinds(t, "peer round", p.Timer("TX1", 2), roundKinds("A", 3)...)
		wantKinds(t, "coordinator "+string(st), p.QueryReply(&wire.QueryReply{TxID: "TX1", From: coordID, State: st}))
		wantKinds(t, "alive", p.Timer("TX1", 3), coordKinds(4)...)
		if s := p.txns["TX1"].state; s != wire.StateReady {
			t.Fatalf("state %q", s)
		}
	}
}
