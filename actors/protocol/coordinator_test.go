package protocol

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// Direct tests of one CoordTxn: each event in, the exact effects out.

var abc = []string{"A", "B", "C"}

func newCoord(t *testing.T, delay time.Duration, ids ...string) *CoordTxn {
	t.Helper()
	cfg := CoordConfig{NodeID: coordID, Addr: coordAddr, Vote: voteAfter, Delay: delay}
	ms := make([]wire.Member, len(ids))
	o := map[string][]wire.Op{}
	for i, id := range ids {
		ms[i] = wire.Member{ID: id, Addr: addrOf(id)}
		o[id] = ops(set("k", id))
	}
	return NewCoordTxn(cfg, "TX1", wire.TwoPC, ms, o)
}

func yes(from string) *wire.Vote { return &wire.Vote{TxID: "TX1", From: from, Yes: true} }
func no(from, why string) *wire.Vote {
	return &wire.Vote{TxID: "TX1", From: from, Reason: why}
}
func ack(from string, st wire.State) *wire.Ack { return &wire.Ack{TxID: "TX1", From: from, State: st} }

// decision returns the DECISION record among effs (and checks it is forced).
func decision(t *testing.T, effs []Effect) Record {
	t.Helper()
	for _, p := range persists(effs) {
		if p.Rec.Kind == RecDecision {
			if !p.Force {
				t.Fatal("DECISION not forced")
			}
			return p.Rec
		}
	}
	t.Fatalf("no DECISION among %q", kinds(effs))
	return Record{}
}

func TestCoordStart(t *testing.T) {
	c := NewCoordTxn(CoordConfig{NodeID: coordID, Addr: coordAddr, Vote: 3 * time.Second}, "TX1", wire.TwoPC,
		[]wire.Member{{ID: "B", Addr: "b:1"}, {ID: "C", Addr: "c:1"}},
		map[string][]wire.Op{"B": ops(add("balance", -100)), "C": ops(add("balance", 100))})
	if out := c.Outcome(); out != wire.StateInit {
		t.Fatalf("Outcome before start %q", out)
	}
	effs := c.Start()
	wantKinds(t, "Start", effs, "persist lazy BEGIN TX1", "send B PREPARE TX1", "send C PREPARE TX1", "timer TX1 #1")
	if rec := effs[0].(Persist).Rec; !slices.Equal(rec.Members, c.members) || rec.Protocol != wire.TwoPC {
		t.Fatalf("BEGIN %+v", rec)
	}
	for i, want := range []struct {
		addr  string
		delta int64
	}{{"b:1", -100}, {"c:1", 100}} {
		s := effs[1+i].(Send)
		m := s.Msg.(*wire.Prepare)
		if s.Addr != want.addr || m.Coord != coordID || m.CoordAddr != coordAddr || m.Protocol != wire.TwoPC ||
			len(m.Ops) != 1 || m.Ops[0].Delta != want.delta || !slices.Equal(m.Members, c.members) {
			t.Fatalf("PREPARE to %s: %+v addr %q", s.To, m, s.Addr)
		}
	}
	if tm := effs[3].(SetTimer); tm.After != 3*time.Second {
		t.Fatalf("vote timer %v", tm.After)
	}
	if d, _, _ := c.Decided(); d {
		t.Fatal("decided at start")
	}
	if ids := c.MemberIDs(); !slices.Equal(ids, []string{"B", "C"}) || c.ID() != "TX1" {
		t.Fatalf("ids %v %s", ids, c.ID())
	}
}

// Every vote combination for 2 and 3 participants, in every arrival order,
// at the level of the coordinator alone.
func TestCoordVoteCombinations(t *testing.T) {
	for _, n := range []int{2, 3} {
		ids := abc[:n]
		for mask := 0; mask < 1<<n; mask++ {
			for _, order := range permutations(ids) {
				c := newCoord(t, 0, ids...)
				c.Start()
				var effs []Effect
				var firstNo string
				decidedAt := -1
				for i, id := range order {
					v := yes(id)
					if mask&(1<<slices.Index(ids, id)) == 0 {
						v = no(id, id+" says no")
						if firstNo == "" {
							firstNo = id
						}
					}
					e := c.Vote(v)
					if len(e) > 0 && decidedAt < 0 {
						decidedAt = i
					}
					effs = append(effs, e...)
				}
				allYes := mask == 1<<n-1
				name := strings.Join(order, "") + " mask " + string(rune('0'+mask))
				if allYes && decidedAt != n-1 {
					t.Fatalf("%s: decided before the last vote", name)
				}
				if !allYes && order[decidedAt] != firstNo {
					t.Fatalf("%s: decided at %s, want at the first NO (%s)", name, order[decidedAt], firstNo)
				}
				if has[Send](effs) || has[Reply](effs) {
					t.Fatalf("%s: sent before the decision was durable: %q", name, kinds(effs))
				}
				rec := decision(t, effs)
				if len(persists(effs)) != 1 {
					t.Fatalf("%s: more than one record: %q", name, kinds(effs))
				}
				if rec.Commit != allYes {
					t.Fatalf("%s: commit=%v", name, rec.Commit)
				}
				if !allYes && rec.Reason != firstNo+": "+firstNo+" says no" {
					t.Fatalf("%s: reason %q", name, rec.Reason)
				}
				out := c.Logged(rec)
				want := wire.StateAborted
				if allYes {
					want = wire.StateCommitted
				}
				if r := replyOf(t, out); r.Outcome != want || r.Reason != rec.Reason {
					t.Fatalf("%s: reply %+v", name, r)
				}
				// Phase two: COMMIT to all; ABORT to all but the NO voters
				// that voted before the decision.
				var to []string
				for _, s := range sends(out) {
					if s.Msg.(*wire.Decision).Commit != allYes {
						t.Fatalf("%s: wrong decision sent", name)
					}
					to = append(to, s.To)
				}
				// Every vote arrived before the decision became durable,
				// so the NO voters are known ABORTED and get nothing.
				var wantTo []string
				for _, id := range ids {
					if allYes || mask&(1<<slices.Index(ids, id)) != 0 {
						wantTo = append(wantTo, id)
					}
				}
				if !slices.Equal(to, wantTo) {
					t.Fatalf("%s: decision sent to %v, want %v", name, to, wantTo)
				}
			}
		}
	}
}

func permutations(xs []string) [][]string {
	if len(xs) <= 1 {
		return [][]string{slices.Clone(xs)}
	}
	var out [][]string
	for i := range xs {
		rest := slices.Concat(xs[:i], xs[i+1:])
		for _, p := range permutations(rest) {
			out = append(out, append([]string{xs[i]}, p...))
		}
	}
	return out
}

func TestCoordCommitFlow(t *testing.T) {
	c := newCoord(t, 0, abc...)
	c.Start()
	wantKinds(t, "A", c.Vote(yes("A")))
	wantKinds(t, "dup A", c.Vote(yes("A")))
	wantKinds(t, "dup A as NO", c.Vote(no("A", "changed my mind")))
	wantKinds(t, "stranger", c.Vote(yes("Z")))
	wantKinds(t, "B", c.Vote(yes("B")))
	effs := c.Vote(yes("C"))
	wantKinds(t, "C", effs, "persist forced DECISION TX1")
	rec := decision(t, effs)
	if !rec.Commit || !slices.Equal(rec.Members, c.members) {
		t.Fatalf("decision %+v", rec)
	}
	if d, _, _ := c.Decided(); d {
		t.Fatal("Decided before the decision is durable")
	}
	if st := c.Status(); st.State != wire.StateInit {
		t.Fatalf("status %+v before durable", st)
	}
	wantKinds(t, "old vote timer", c.Timer(1))
	wantKinds(t, "ack before delivering", c.Ack(ack("A", wire.StateCommitted)))
	wantKinds(t, "Logged(BEGIN)", c.Logged(Record{Kind: RecBegin, TxID: "TX1"}))

	effs = c.Logged(rec)
	wantKinds(t, "Logged", effs, "send A COMMIT TX1", "send B COMMIT TX1", "send C COMMIT TX1", "reply TX1 COMMITTED")
	if s := effs[1].(Send); s.Addr != addrOf("B") {
		t.Fatalf("decision addr %q", s.Addr)
	}
	wantKinds(t, "Logged again", c.Logged(rec))
	if d, out, _ := c.Decided(); !d || out != wire.StateCommitted {
		t.Fatalf("Decided = %v %q", d, out)
	}
	wantKinds(t, "late vote", c.Vote(yes("A")))

	wantKinds(t, "ack A", c.Ack(ack("A", wire.StateCommitted)))
	wantKinds(t, "dup ack A", c.Ack(ack("A", wire.StateCommitted)))
	wantKinds(t, "non-final ack", c.Ack(ack("B", wire.StateReady)))
	wantKinds(t, "unknown-state ack", c.Ack(ack("B", "")))
	wantKinds(t, "stranger ack", c.Ack(ack("Z", wire.StateCommitted)))
	wantKinds(t, "ack B", c.Ack(ack("B", wire.StateCommitted)))
	wantKinds(t, "ack C", c.Ack(ack("C", wire.StateCommitted)), "persist lazy END TX1", "finished TX1")
	wantKinds(t, "dup ack C", c.Ack(ack("C", wire.StateCommitted)))
	wantKinds(t, "timer after done", c.Timer(2))

	st := c.Status()
	want := map[string]wire.State{"A": wire.StateCommitted, "B": wire.StateCommitted, "C": wire.StateCommitted}
	if st.State != wire.StateCommitted || st.TxID != "TX1" || st.Protocol != wire.TwoPC || !maps.Equal(st.Participants, want) {
		t.Fatalf("status %+v", st)
	}
}

func TestCoordAbortOnNo(t *testing.T) {
	c := newCoord(t, 0, abc...)
	c.Start()
	c.Vote(yes("A"))
	effs := c.Vote(no("B", "balance would be -200"))
	rec := decision(t, effs)
	if rec.Commit || rec.Reason != "B: balance would be -200" {
		t.Fatalf("decision %+v", rec)
	}
	// C's vote, and a NO without reason from nobody in particular, change nothing.
	wantKinds(t, "late NO", c.Vote(no("C", "")))
	wantKinds(t, "stale timer", c.Timer(1))
	effs = c.Logged(rec)
	// A voted YES: it must hear ABORT. B voted NO: it need not. C voted NO
	// too late to matter, but is already known ABORTED: no ABORT either.
	wantKinds(t, "Logged", effs, "send A ABORT TX1", "reply TX1 ABORTED")
	if r := replyOf(t, effs); r.Reason != "B: balance would be -200" {
		t.Fatalf("reply %+v", r)
	}
	if d := effs[0].(Send).Msg.(*wire.Decision); d.Reason != rec.Reason {
		t.Fatalf("decision %+v", d)
	}
	wantKinds(t, "ack from NO voter", c.Ack(ack("B", wire.StateAborted)))
	wantKinds(t, "ack A", c.Ack(ack("A", wire.StateAborted)), "persist lazy END TX1", "finished TX1")
	if st := c.Status(); st.State != wire.StateAborted || st.Reason != rec.Reason {
		t.Fatalf("status %+v", st)
	}
}

func TestCoordNoWithoutReason(t *testing.T) {
	c := newCoord(t, 0, "A", "B")
	c.Start()
	if rec := decision(t, c.Vote(no("B", ""))); rec.Reason != "B: voted no" {
		t.Fatalf("reason %q", rec.Reason)
	}
}

func TestCoordVoteTimeout(t *testing.T) {
	c := newCoord(t, 0, abc...)
	c.Start()
	c.Vote(yes("A"))
	c.Vote(yes("C"))
	wantKinds(t, "wrong seq", c.Timer(0))
	wantKinds(t, "future seq", c.Timer(2))
	effs := c.Timer(1)
	rec := decision(t, effs)
	if rec.Commit || rec.Reason != "no vote from B within 1s" {
		t.Fatalf("decision %+v", rec)
	}
	wantKinds(t, "timer again", c.Timer(1))
	effs = c.Logged(rec)
	// B gets the ABORT as a courtesy but need not ack; A and C must.
	wantKinds(t, "Logged", effs, "send A ABORT TX1", "send B ABORT TX1", "send C ABORT TX1", "reply TX1 ABORTED")
	wantKinds(t, "ack A", c.Ack(ack("A", wire.StateAborted)))
	wantKinds(t, "ack C", c.Ack(ack("C", wire.StateAborted)), "persist lazy END TX1", "finished TX1")

	t.Run("nobody answers", func(t *testing.T) {
		c := newCoord(t, 0, abc...)
		c.Start()
		rec := decision(t, c.Timer(1))
		if rec.Reason != "no vote from A, B, C within 1s" {
			t.Fatalf("reason %q", rec.Reason)
		}
		// Nobody holds locks: done as soon as ABORT is durable.
		wantKinds(t, "Logged", c.Logged(rec), "send A ABORT TX1", "send B ABORT TX1",
			"send C ABORT TX1", "reply TX1 ABORTED", "persist lazy END TX1", "finished TX1")
	})
}

// A YES that arrives after an ABORT decision: that participant holds locks,
// so it must hear ABORT, and its ack is awaited if the transaction is not
// done yet.
func TestCoordLateYes(t *testing.T) {
	type ph int
	const (
		logging ph = iota
		delaying
		delivering
		done
	)
	for _, at := range []ph{logging, delaying, delivering, done} {
		t.Run([]string{"logging", "delay", "delivering", "done"}[at], func(t *testing.T) {
			delay := time.Duration(0)
			if at == delaying {
				delay = time.Second
			}
			c := newCoord(t, delay, abc...)
			c.Start()
			c.Vote(yes("A"))
			rec := decision(t, c.Timer(1)) // B and C silent
			var effs []Effect
			late := func() { effs = append(effs, c.Vote(yes("B"))...) }
			if at == logging {
				late()
			}
			effs = append(effs, c.Logged(rec)...)
			if at == delaying {
				late()
				wantKinds(t, "during delay", effs, "reply TX1 ABORTED", "timer TX1 #3")
				effs = c.Timer(3)
			}
			if at == delivering {
				late()
			}
			if at == done {
				if e := c.Ack(ack("A", wire.StateAborted)); !has[Finished](e) {
					t.Fatalf("not finished: %q", kinds(e))
				}
				e := c.Vote(yes("B"))
				wantKinds(t, "late YES after done", e, "send B ABORT TX1")
				return
			}
			if n := len(slices.DeleteFunc(sends(effs), func(s Send) bool { return s.To != "B" })); n < 1 {
				t.Fatalf("B never sent ABORT: %q", kinds(effs))
			}
			// Both A and B must ack now; C need not.
			wantKinds(t, "ack A", c.Ack(ack("A", wire.StateAborted)))
			wantKinds(t, "ack B", c.Ack(ack("B", wire.StateAborted)), "persist lazy END TX1", "finished TX1")
		})
	}
}

func TestCoordDelay(t *testing.T) {
	c := newCoord(t, 5*time.Second, "A", "B")
	c.Start()
	c.Vote(yes("A"))
	rec := decision(t, c.Vote(yes("B")))
	effs := c.Logged(rec)
	// The client hears at once; phase two waits for the delay.
	wantKinds(t, "Logged", effs, "reply TX1 COMMITTED", "timer TX1 #3")
	if tm := effs[1].(SetTimer); tm.After != 5*time.Second {
		t.Fatalf("delay timer %v", tm.After)
	}
	if d, out, _ := c.Decided(); !d || out != wire.StateCommitted {
		t.Fatal("not Decided during the delay")
	}
	wantKinds(t, "vote timer", c.Timer(1))
	wantKinds(t, "decide's seq", c.Timer(2))
	wantKinds(t, "ack during delay", c.Ack(ack("A", wire.StateCommitted)))
	wantKinds(t, "delay timer", c.Timer(3), "send A COMMIT TX1", "send B COMMIT TX1")
	wantKinds(t, "delay timer again", c.Timer(3))
	c.Ack(ack("A", wire.StateCommitted))
	wantKinds(t, "ack B", c.Ack(ack("B", wire.StateCommitted)), "persist lazy END TX1", "finished TX1")
}

func TestCoordRecover(t *testing.T) {
	cfg := CoordConfig{NodeID: coordID, Addr: coordAddr, Vote: voteAfter, Delay: time.Hour}
	ms := []wire.Member{{ID: "A", Addr: "a:1"}, {ID: "B", Addr: "b:1"}}
	t.Run("decided commit", func(t *testing.T) {
		c := RecoverCoordTxn(cfg, "TX1", wire.TwoPC, ms, true, true, "")
		effs := c.Start()
		// No Reply (nobody is waiting), no delay, no new record: resend.
		wantKinds(t, "Start", effs, "send A COMMIT TX1", "send B COMMIT TX1")
		if s := effs[0].(Send); s.Addr != "a:1" {
			t.Fatalf("addr %q", s.Addr)
		}
		if d, out, _ := c.Decided(); !d || out != wire.StateCommitted {
			t.Fatal("not decided")
		}
		wantKinds(t, "duplicate YES", c.Vote(&wire.Vote{TxID: "TX1", From: "A", Yes: true}))
		wantKinds(t, "ack A", c.Ack(ack("A", wire.StateCommitted)))
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateCommitted)), "persist lazy END TX1", "finished TX1")
	})
	t.Run("decided abort waits for everyone", func(t *testing.T) {
		c := RecoverCoordTxn(cfg, "TX1", wire.TwoPC, ms, true, false, "A: no")
		effs := c.Start()
		wantKinds(t, "Start", effs, "send A ABORT TX1", "send B ABORT TX1")
		if d := effs[0].(Send).Msg.(*wire.Decision); d.Reason != "A: no" {
			t.Fatalf("reason %q", d.Reason)
		}
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateAborted)))
		wantKinds(t, "ack A", c.Ack(ack("A", wire.StateAborted)), "persist lazy END TX1", "finished TX1")
	})
	t.Run("undecided aborts", func(t *testing.T) {
		cfg := cfg
		cfg.Delay = 0
		c := RecoverCoordTxn(cfg, "TX1", wire.TwoPC, ms, false, false, "")
		if out := c.Outcome(); out != wire.StateInit {
			t.Fatalf("Outcome before Start %q", out)
		}
		effs := c.Start()
		wantKinds(t, "Start", effs, "persist forced DECISION TX1")
		rec := decision(t, effs)
		if rec.Commit || rec.Reason != "coordinator restarted before a decision" || !slices.Equal(rec.Members, ms) {
			t.Fatalf("decision %+v", rec)
		}
		if d, _, _ := c.Decided(); d {
			t.Fatal("decided before durable")
		}
		// A YES from before the crash arrives: nothing goes out yet.
		wantKinds(t, "vote", c.Vote(&wire.Vote{TxID: "TX1", From: "A", Yes: true}))
		effs = c.Logged(rec)
		wantKinds(t, "Logged", effs, "send A ABORT TX1", "send B ABORT TX1", "reply TX1 ABORTED")
		wantKinds(t, "ack A", c.Ack(ack("A", wire.StateAborted)))
		wantKinds(t, "ack B", c.Ack(ack("B", wire.StateAborted)), "persist lazy END TX1", "finished TX1")
	})
	t.Run("undecided aborts without the delay", func(t *testing.T) {
		// --delay is a window for a crash before phase two, not a cost of recovery.
		c := RecoverCoordTxn(cfg, "TX1", wire.TwoPC, ms, false, false, "")
		rec := decision(t, c.Start())
		wantKinds(t, "Logged", c.Logged(rec), "send A ABORT TX1", "send B ABORT TX1", "reply TX1 ABORTED")
	})
}

// replyOf is the Reply among effs.
func replyOf(t *testing.T, effs []Effect) Reply {
	t.Helper()
	r := effectsOf[Reply](effs)
	if len(r) == 0 {
		t.Fatalf("no reply among %q", kinds(effs))
		return Reply{}
	}
	return r[0]
}
