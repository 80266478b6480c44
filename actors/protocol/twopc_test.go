package protocol

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// End-to-end tests: one coordinator and N participants on the simulated
// network of harness_test.go. The harness itself checks persist-before-send
// on every message, and acks-before-Finished.

func isMsg(from, to string, typ wire.Type) func(envelope) bool {
	return func(e envelope) bool {
		return (from == "" || e.from == from) && (to == "" || e.to == to) && e.msg.Type() == typ
	}
}

func holdIf(pred func(envelope) bool) func(envelope) verdict {
	return func(e envelope) verdict {
		if pred(e) {
			return hold
		}
		return deliver
	}
}

// wantOutcome checks that every participant in ids reached st on tx, that
// no locks are left, and that the coordinator replied st once and finished.
func (s *sim) wantOutcome(tx string, st wire.State, ids ...string) {
	s.t.Helper()
	for _, id := range ids {
		if got := s.state(id, tx); got != st {
			s.t.Errorf("%s: %s is %q, want %q\n%s", id, tx, got, st, s.trace())
		}
		s.noLocks(id)
	}
	if r := s.replyFor(tx); len(r) != 1 || r[0].Outcome != st {
		s.t.Errorf("replies for %s: %+v, want one %s", tx, r, st)
	}
	if s.finished[tx] != 1 {
		s.t.Errorf("%s finished %d times\n%s", tx, s.finished[tx], s.trace())
	}
	if !s.nodes[coordID].log.has(true, recIs(RecEnd, tx)) {
		s.t.Errorf("no END for %s", tx)
	}
	s.checkAtomic(tx)
}

func (s *sim) wantBalance(want string, ids ...string) {
	s.t.Helper()
	for _, id := range ids {
		if got := s.store(id)["balance"]; got != want {
			s.t.Errorf("%s: balance %q, want %q", id, got, want)
		}
	}
}

// Every vote combination for 2 and 3 participants, under FIFO and several
// random delivery orders.
func TestSimVoteCombinations(t *testing.T) {
	for _, n := range []int{2, 3} {
		ids := abc[:n]
		for mask := 0; mask < 1<<n; mask++ {
			for seed := int64(0); seed < 6; seed++ {
				name := fmt.Sprintf("n%d/yes%0*b/seed%d", n, n, mask, seed)
				t.Run(name, func(t *testing.T) {
					s := newSim(t, ids...)
					if seed > 0 {
						s.rng = rand.New(rand.NewSource(seed))
					}
					o := map[string][]wire.Op{}
					var noVoters []string
					for i, id := range ids {
						s.seed(id, "balance", "1000")
						if mask&(1<<i) != 0 {
							o[id] = ops(add("balance", -100))
						} else {
							o[id] = ops(add("balance", -5000))
							noVoters = append(noVoters, id)
						}
					}
					s.begin("TX1", o)
					s.run()
					if len(noVoters) == 0 {
						s.wantOutcome("TX1", wire.StateCommitted, ids...)
						s.wantBalance("900", ids...)
						for _, id := range ids {
							if c := s.records(id, RecCommit, "TX1"); c != 1 {
								t.Errorf("%s logged COMMIT %d times", id, c)
							}
						}
						return
					}
					s.wantOutcome("TX1", wire.StateAborted, ids...)
					s.wantBalance("1000", ids...)
					reason := s.replyFor("TX1")[0].Reason
					who, why, _ := strings.Cut(reason, ": ")
					if !slices.Contains(noVoters, who) || why != "balance would be -4000" {
						t.Errorf("reason %q, want one of %v with its reason", reason, noVoters)
					}
					if seed == 0 && who != noVoters[0] {
						t.Errorf("FIFO: reason names %s, want %s", who, noVoters[0])
					}
					for _, id := range ids {
						if s.records(id, RecCommit, "TX1") != 0 {
							t.Errorf("%s logged COMMIT", id)
						}
					}
				})
			}
		}
	}
}

// The coordinator is given ops per member id: a transfer.
func TestSimTransfer(t *testing.T) {
	tests := []struct {
		name    string
		amount  int64
		outcome wire.State
		b, c    string
		reason  string
	}{
		{"ok", 100, wire.StateCommitted, "900", "100", ""},
		{"everything", 1000, wire.StateCommitted, "0", "1000", ""},
		{"overdraft", 1200, wire.StateAborted, "1000", "0", "B: balance would be -200"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, "B", "C")
			s.seed("B", "balance", "1000")
			s.seed("C", "balance", "0")
			ct := s.begin("TX1", map[string][]wire.Op{
				"B": ops(add("balance", -tc.amount)),
				"C": ops(add("balance", tc.amount)),
			})
			for _, m := range s.sentOf(coordID, "", wire.TypePrepare, "TX1") {
				p := m.(*wire.Prepare)
				if len(p.Ops) != 1 || p.Ops[0].Key != "balance" {
					t.Fatalf("PREPARE %+v", p)
				}
			}
			s.run()
			s.wantOutcome("TX1", tc.outcome, "B", "C")
			s.wantBalance(tc.b, "B")
			s.wantBalance(tc.c, "C")
			if r := s.replyFor("TX1")[0].Reason; r != tc.reason {
				t.Errorf("reason %q, want %q", r, tc.reason)
			}
			st := ct.Status()
			for _, id := range []string{"B", "C"} {
				if tc.outcome == wire.StateCommitted && st.Participants[id] != wire.StateCommitted {
					t.Errorf("coordinator sees %s as %q", id, st.Participants[id])
				}
			}
		})
	}
}

// C never answers: abort when the vote timer fires; A and B (YES) must ack,
// C need not.
func TestSimVoteTimeout(t *testing.T) {
	s := newSim(t, abc...)
	s.crash("C")
	s.begin("TX1", opsFor(abc, set("k", "v")))
	s.run()
	if d, _, _ := s.coord("TX1").Decided(); d || len(s.replies) != 0 {
		t.Fatal("decided without C's vote and before the timer")
	}
	// The vote timer fires: abort.
	if n := s.fire(coordID, "TX1"); n != 1 {
		t.Fatalf("%d coordinator timers", n)
	}
	s.run()
	s.wantOutcome("TX1", wire.StateAborted, "A", "B")
	if r := s.replyFor("TX1")[0].Reason; r != "no vote from C within 1s" {
		t.Errorf("reason %q", r)
	}
	// Stale: the vote timer's seq is void.
	if effs := s.coord("TX1").Timer(1); effs != nil {
		t.Errorf("stale timer: %q", kinds(effs))
	}
	// C comes back knowing nothing, and has nothing to ask about.
	s.restart("C")
	s.run()
	if got := s.state("C", "TX1"); got != wire.StateUnknown {
		t.Errorf("C: %q", got)
	}
}

// The END and Finished wait for exactly the needed acks.
func TestSimFinishedWaitsForAcks(t *testing.T) {
	s := newSim(t, abc...)
	s.filter = holdIf(isMsg("", coordID, wire.TypeAck))
	s.begin("TX1", opsFor(abc, set("k", "v")))
	s.run()
	if len(s.held) != 3 {
		t.Fatalf("%d acks held", len(s.held))
	}
	for i, id := range []string{"C", "A", "B"} {
		if s.finished["TX1"] != 0 || s.records(coordID, RecEnd, "TX1") != 0 {
			t.Fatalf("finished before the ack of %s", id)
		}
		// Duplicated, too.
		s.filter = func(envelope) verdict { return dup }
		s.release(func(e envelope) bool { return e.from == id }, false)
		s.run()
		if i < 2 && s.finished["TX1"] != 0 {
			t.Fatalf("finished after %d acks", i+1)
		}
	}
	s.wantOutcome("TX1", wire.StateCommitted, abc...)
}

// C's YES is late: the vote timer aborts, and the ABORT to C is lost or late
// too, so C holds its locks. It must be sent ABORT when its YES arrives,
// before or after the others' acks.
func TestSimLateYes(t *testing.T) {
	for _, afterFinished := range []bool{false, true} {
		t.Run(fmt.Sprintf("afterFinished=%v", afterFinished), func(t *testing.T) {
			s := newSim(t, abc...)
			for _, id := range abc {
				s.seed(id, "balance", "1000")
			}
			s.filter = holdIf(func(e envelope) bool {
				return e.from == "C" || e.to == "C" && e.msg.Type() == wire.TypeDecision ||
					!afterFinished && e.to == coordID && e.msg.Type() == wire.TypeAck
			})
			s.begin("TX1", opsFor(abc, add("balance", -1)))
			s.run()
			s.fire(coordID, "TX1")
			s.run()
			if got := s.state("C", "TX1"); got != wire.StateReady {
				t.Fatalf("C: %q", got)
			}
			if (s.finished["TX1"] == 1) != afterFinished {
				t.Fatalf("finished=%d", s.finished["TX1"])
			}
			// C's YES arrives; the courtesy ABORT to C stays lost.
			s.filter = nil
			s.release(func(e envelope) bool { return e.from == "C" }, false)
			s.held = slices.DeleteFunc(s.held, func(e envelope) bool { return e.to == "C" })
			s.run()
			if !afterFinished {
				if s.finished["TX1"] != 0 {
					t.Fatal("finished without acks")
				}
				// A and B ack: still waiting for C? No: C's ack came already.
				s.release(nil, false)
				s.run()
			}
			s.wantOutcome("TX1", wire.StateAborted, abc...)
			s.wantBalance("1000", abc...)
			if len(s.sentOf(coordID, "C", wire.TypeDecision, "TX1")) != 2 {
				t.Errorf("ABORT sent to C %d times, want 2 (courtesy, then after its YES)",
					len(s.sentOf(coordID, "C", wire.TypeDecision, "TX1")))
			}
		})
	}

	// Before Finished the late voter's ack is awaited.
	s := newSim(t, abc...)
	s.filter = holdIf(func(e envelope) bool {
		return e.from == "C" && e.msg.Type() == wire.TypeVote || e.to == "C" && e.msg.Type() == wire.TypeDecision
	})
	s.begin("TX1", opsFor(abc, set("k", "v")))
	s.run()
	s.fire(coordID, "TX1")
	s.filter = holdIf(isMsg("", coordID, wire.TypeAck))
	s.run() // A and B ack, held
	// The courtesy ABORT to C is lost.
	s.held = slices.DeleteFunc(s.held, isMsg(coordID, "C", wire.TypeDecision))
	s.release(isMsg("C", coordID, wire.TypeVote), false)
	s.run() // the coordinator sends C an ABORT; C acks, held
	if n := len(s.sentOf(coordID, "C", wire.TypeDecision, "TX1")); n != 2 || s.state("C", "TX1") != wire.StateAborted {
		t.Fatalf("C got %d ABORTs and is %q", n, s.state("C", "TX1"))
	}
	s.release(func(e envelope) bool { return e.from != "C" }, false)
	s.run()
	if s.finished["TX1"] != 0 {
		t.Fatal("finished without the late YES voter's ack")
	}
	s.release(nil, false)
	s.run()
	if s.finished["TX1"] != 1 {
		t.Fatalf("not finished after C's ack\n%s", s.trace())
	}
}

// Persist before send, with forced writes completed late.
func TestSimPersistBeforeSend(t *testing.T) {
	t.Run("no YES before PREPARED is durable", func(t *testing.T) {
		s := newSim(t, "A", "B")
		s.nodes["B"].log.manual = true
		s.begin("TX1", opsFor(s.ids, set("k", "v")))
		s.run()
		if s.votesYes("B", "TX1") != 0 || s.votesYes("A", "TX1") != 1 {
			t.Fatalf("votes: %s", s.trace())
		}
		if len(s.part("B").Locked()) != 1 {
			t.Fatal("B did not lock at PREPARE")
		}
		s.sync("B")
		s.run() // the COMMIT for B is written but not durable: no ack
		if s.state("B", "TX1") != wire.StateReady || len(s.sentOf("B", "", wire.TypeAck, "TX1")) != 0 {
			t.Fatalf("B acked before COMMIT durable:\n%s", s.trace())
		}
		if s.finished["TX1"] != 0 {
			t.Fatal("finished before B's ack")
		}
		s.sync("B")
		s.run()
		s.wantOutcome("TX1", wire.StateCommitted, "A", "B")
	})
	t.Run("no decision, no reply before the decision is durable", func(t *testing.T) {
		s := newSim(t, "A", "B")
		s.nodes[coordID].log.manual = true
		s.begin("TX1", opsFor(s.ids, set("k", "v")))
		s.run()
		if len(s.sentOf(coordID, "", wire.TypeDecision, "TX1")) != 0 || len(s.replies) != 0 {
			t.Fatalf("sent before durable:\n%s", s.trace())
		}
		// A participant asking meanwhile is told only that the coordinator
		// is alive and undecided (INIT), and stays READY.
		s.fire("A", "TX1")
		s.run()
		if len(s.sentOf("A", coordID, wire.TypeQuery, "TX1")) != 1 || s.state("A", "TX1") != wire.StateReady {
			t.Fatal("A's query went unexpectedly")
		}
		if r := s.sentOf(coordID, "A", wire.TypeQueryReply, "TX1"); len(r) != 1 || r[0].(*wire.QueryReply).State != wire.StateInit ||
			len(s.sentOf(coordID, "A", wire.TypeDecision, "TX1")) != 0 {
			t.Fatalf("undecided coordinator answered %v", r)
		}
		s.sync(coordID)
		s.run()
		s.wantOutcome("TX1", wire.StateCommitted, "A", "B")
	})
	t.Run("delay: reply at once, decision after the timer", func(t *testing.T) {
		s := newSim(t, "A", "B")
		s.ccfg.Delay = 3 * time.Second
		s.begin("TX1", opsFor(s.ids, set("k", "v")))
		s.run()
		if r := s.replyFor("TX1"); len(r) != 1 || r[0].Outcome != wire.StateCommitted {
			t.Fatalf("replies %+v", r)
		}
		if len(s.sentOf(coordID, "", wire.TypeDecision, "TX1")) != 0 {
			t.Fatal("decision sent during the delay")
		}
		for _, id := range s.ids {
			if s.state(id, "TX1") != wire.StateReady {
				t.Fatalf("%s not READY during the delay", id)
			}
		}
		// Two coordinator timers: the void vote timer and the delay.
		if tms := s.timersFor(coordID, "TX1"); len(tms) != 2 {
			t.Fatalf("timers %+v", tms)
		}
		s.fire(coordID, "TX1")
		s.run()
		s.wantOutcome("TX1", wire.StateCommitted, "A", "B")
	})
	t.Run("delay: a participant that asks meanwhile is not told; after it, it is", func(t *testing.T) {
		s := newSim(t, "A", "B")
		s.ccfg.Delay = 3 * time.Second
		s.begin("TX1", opsFor(s.ids, set("k", "v")))
		s.run()
		// The delay withholds the decision from queries too: the
		// coordinator only says it is alive.
		s.fire("A", "TX1")
		s.run()
		if s.state("A", "TX1") != wire.StateReady || s.state("B", "TX1") != wire.StateReady {
			t.Fatal("the decision leaked during the delay")
		}
		if d := s.sentOf(coordID, "A", wire.TypeDecision, "TX1"); len(d) != 0 {
			t.Fatalf("decision sent during the delay: %v", d)
		}
		if r := s.sentOf(coordID, "A", wire.TypeQueryReply, "TX1"); len(r) != 1 {
			t.Fatalf("query not answered: %v", r)
		}
		if s.finished["TX1"] != 0 {
			t.Fatal("finished during the delay")
		}
		// Phase two begins; A's COMMIT is lost, so A asks, and now it is told.
		s.filter = func(e envelope) verdict {
			if isMsg(coordID, "A", wire.TypeDecision)(e) && len(s.sentOf(coordID, "A", wire.TypeDecision, "TX1")) == 1 {
				return drop
			}
			return deliver
		}
		s.fire(coordID, "TX1")
		s.run()
		if s.state("A", "TX1") != wire.StateReady || s.state("B", "TX1") != wire.StateCommitted {
			t.Fatal("set-up")
		}
		s.fire("A", "TX1")
		s.run()
		s.wantOutcome("TX1", wire.StateCommitted, "A", "B")
		if c := s.records("A", RecCommit, "TX1"); c != 1 {
			t.Errorf("A logged COMMIT %d times", c)
		}
	})
}

// Each round of messages held and then delivered in reverse order.
func TestSimReorder(t *testing.T) {
	for _, fail := range []bool{false, true} {
		s := newSim(t, abc...)
		s.filter = func(envelope) verdict { return hold }
		o := opsFor(abc, set("k", "v"))
		if fail {
			o["C"] = ops(add("k", -1))
		}
		s.begin("TX1", o)
		for round := 0; round < 10 && len(s.held) > 0; round++ {
			s.release(nil, true)
			s.run()
		}
		want := wire.StateCommitted
		if fail {
			want = wire.StateAborted
		}
		s.wantOutcome("TX1", want, abc...)
	}
}

// Every message duplicated, in several delivery orders.
func TestSimDuplicates(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		for _, fail := range []bool{false, true} {
			s := newSim(t, abc...)
			if seed > 0 {
				s.rng = rand.New(rand.NewSource(seed))
			}
			s.filter = func(envelope) verdict { return dup }
			o := map[string][]wire.Op{}
			for _, id := range abc {
				s.seed(id, "balance", "1000")
				o[id] = ops(add("balance", -100))
			}
			if fail {
				o["B"] = ops(add("balance", -1001))
			}
			s.begin("TX1", o)
			s.run()
			if fail {
				s.wantOutcome("TX1", wire.StateAborted, abc...)
				s.wantBalance("1000", abc...)
			} else {
				s.wantOutcome("TX1", wire.StateCommitted, abc...)
				s.wantBalance("900", abc...)
			}
			if t.Failed() {
				t.Fatalf("seed %d fail=%v", seed, fail)
			}
		}
	}
}

// ABORT reaches C while its PREPARED is still being written: C must never
// vote YES (it releases the lock when it logs the ABORT).
func TestSimAbortWhilePreparedPending(t *testing.T) {
	s := newSim(t, abc...)
	s.nodes["C"].log.manual = true
	s.begin("TX1", opsFor(abc, set("k", "v")))
	s.run()
	s.fire(coordID, "TX1")
	s.run()
	if len(s.sentOf(coordID, "C", wire.TypeDecision, "TX1")) != 1 {
		t.Fatal("no ABORT to C")
	}
	if l := s.part("C").Locked(); len(l) != 0 {
		t.Fatalf("C still locked after logging ABORT: %v", l)
	}
	s.sync("C") // PREPARED and ABORT become durable together
	s.run()
	s.fire("C", "TX1")
	s.run()
	if n := s.votesYes("C", "TX1"); n != 0 {
		t.Fatalf("C voted YES %d times after ABORT", n)
	}
	s.wantOutcome("TX1", wire.StateAborted, abc...)
	// And after a restart: still aborted, still unlocked.
	s.crash("C")
	s.restart("C")
	s.run()
	if s.state("C", "TX1") != wire.StateAborted || len(s.sentOf("C", "", wire.TypeQuery, "TX1")) != 0 {
		t.Fatal("C in doubt after restart")
	}
	s.noLocks("C")
}

// The ABORT overtakes the PREPARE: the late PREPARE must get a NO.
func TestSimLatePrepare(t *testing.T) {
	s := newSim(t, abc...)
	s.filter = holdIf(isMsg(coordID, "C", wire.TypePrepare))
	s.begin("TX1", opsFor(abc, set("k", "v")))
	s.run()
	s.fire(coordID, "TX1")
	s.run()
	if s.state("C", "TX1") != wire.StateAborted {
		t.Fatal("C did not record the ABORT")
	}
	s.release(nil, false)
	s.run()
	votes := s.sentOf("C", coordID, wire.TypeVote, "TX1")
	if len(votes) != 1 || votes[0].(*wire.Vote).Yes {
		t.Fatalf("C's votes: %+v", votes)
	}
	s.noLocks("C")
	s.wantOutcome("TX1", wire.StateAborted, abc...)
}

// Decisions and acks for transactions nobody knows.
func TestSimUnknownTransaction(t *testing.T) {
	s := newSim(t, "A")
	// Injected straight onto the network: the coordinator has no record
	// of these.
	s.post(envelope{from: coordID, to: "A", msg: &wire.Decision{TxID: "GHOST", Commit: true}})
	s.post(envelope{from: coordID, to: "A", msg: &wire.Decision{TxID: "GONE", Reason: "presumed abort"}})
	s.post(envelope{from: coordID, to: "A", msg: &wire.Decision{TxID: "GONE", Reason: "presumed abort"}})
	s.run()
	acks := s.sentOf("A", coordID, wire.TypeAck, "GHOST")
	if len(acks) != 1 || acks[0].(*wire.Ack).State != wire.StateUnknown {
		t.Fatalf("GHOST acks %+v", acks)
	}
	acks = s.sentOf("A", coordID, wire.TypeAck, "GONE")
	if len(acks) != 2 || acks[0].(*wire.Ack).State != wire.StateAborted || acks[1].(*wire.Ack).State != wire.StateAborted {
		t.Fatalf("GONE acks %+v", acks)
	}
	if s.records("A", RecAbort, "GONE") != 0 || len(s.nodes["A"].log.buf) != 1 {
		t.Fatal("want one lazy ABORT for GONE")
	}
	// The coordinator ignores acks and votes for transactions it does not
	// know (the host drops them), and answers a query with presumed abort.
	s.post(envelope{from: "A", to: coordID, msg: &wire.Ack{TxID: "GONE", From: "A", State: wire.StateAborted}})
	s.post(envelope{from: "A", to: coordID, msg: &wire.Query{TxID: "NEVER", From: "A"}})
	s.run()
	if d := s.sentOf(coordID, "A", wire.TypeDecision, "NEVER"); len(d) != 1 || d[0].(*wire.Decision).Commit {
		t.Fatalf("query answered %+v", d)
	}
	if s.state("A", "GHOST") != wire.StateUnknown || s.state("A", "GONE") != wire.StateAborted {
		t.Fatal("states")
	}
}

func TestSimLocking(t *testing.T) {
	s := newSim(t, "A", "B")
	for _, id := range s.ids {
		s.seed(id, "balance", "1000")
	}
	// TX1 is decided, but its COMMITs are slow.
	s.filter = holdIf(isMsg(coordID, "", wire.TypeDecision))
	s.begin("TX1", opsFor(s.ids, add("balance", -100)))
	s.run()
	// TX2 on the same key: NO at once.
	s.filter = nil
	s.begin("TX2", opsFor(s.ids, add("balance", -1)))
	// TX3 on another key: fine.
	s.begin("TX3", opsFor(s.ids, set("other", "x")))
	s.run()
	if r := s.replyFor("TX2"); len(r) != 1 || r[0].Outcome != wire.StateAborted || r[0].Reason != "A: key balance is locked by TX1" {
		t.Fatalf("TX2 %+v", r)
	}
	if r := s.replyFor("TX3"); len(r) != 1 || r[0].Outcome != wire.StateCommitted {
		t.Fatalf("TX3 %+v", r)
	}
	for _, id := range s.ids {
		if l := s.part(id).Locked(); !slices.Equal(l, [][2]string{{"balance", "TX1"}}) {
			t.Fatalf("%s locks %v", id, l)
		}
	}
	s.release(nil, false)
	s.run()
	s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
	s.wantOutcome("TX2", wire.StateAborted, s.ids...)
	s.wantOutcome("TX3", wire.StateCommitted, s.ids...)
	// Free again.
	s.begin("TX4", opsFor(s.ids, add("balance", -1)))
	s.run()
	s.wantOutcome("TX4", wire.StateCommitted, s.ids...)
	s.wantBalance("899", s.ids...)
}

// A participant crashes while READY and is rebuilt from its log.
func TestSimParticipantCrashReady(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			s := newSim(t, abc...)
			o := map[string][]wire.Op{}
			for _, id := range abc {
				s.seed(id, "balance", "1000")
				o[id] = ops(add("balance", -100))
			}
			if !commit {
				// C never answers: the coordinator aborts.
				s.filter = holdIf(isMsg(coordID, "C", wire.TypePrepare))
			}
			// B crashes after voting YES, before it hears the outcome.
			s.begin("TX1", o)
			for s.votesYes("B", "TX1") == 0 {
				if !s.step() {
					t.Fatal("B never voted")
				}
			}
			s.crash("B")
			s.run()
			if !commit {
				s.fire(coordID, "TX1")
				s.run()
			}
			if s.finished["TX1"] != 0 {
				t.Fatal("finished without B's ack")
			}
			s.restart("B")
			// In doubt: it asks at once, and keeps the key locked.
			if q := s.sentOf("B", coordID, wire.TypeQuery, "TX1"); len(q) != 1 {
				t.Fatalf("B's queries: %d", len(q))
			}
			if len(s.timersFor("B", "TX1")) != 1 {
				t.Fatal("no query timer after recovery")
			}
			if s.state("B", "TX1") != wire.StateReady {
				t.Fatalf("B: %q", s.state("B", "TX1"))
			}
			if l := s.part("B").Locked(); !slices.Equal(l, [][2]string{{"balance", "TX1"}}) {
				t.Fatalf("B locks %v", l)
			}
			s.beginWith("TX2", []string{"B"}, map[string][]wire.Op{"B": ops(add("balance", 1))})
			for len(s.sentOf("B", coordID, wire.TypeVote, "TX2")) == 0 {
				s.step()
			}
			if s.state("B", "TX1") != wire.StateReady {
				t.Fatal("TX1 decided before TX2's PREPARE arrived")
			}
			if v := s.sentOf("B", coordID, wire.TypeVote, "TX2"); len(v) != 1 || v[0].(*wire.Vote).Yes ||
				v[0].(*wire.Vote).Reason != "key balance is locked by TX1" {
				t.Fatalf("TX2 not refused while TX1 in doubt: %+v", v[0])
			}
			s.run()
			if !commit {
				s.held = nil
			}
			want, bal := wire.StateCommitted, "900"
			if !commit {
				want, bal = wire.StateAborted, "1000"
			}
			ids := abc
			if !commit {
				ids = []string{"A", "B"}
			}
			s.wantOutcome("TX1", want, ids...)
			s.wantBalance(bal, ids...)
			// Rebuilt once more: the committed ops are applied exactly once.
			s.crash("B")
			s.restart("B")
			s.run()
			s.wantBalance(bal, "B")
			if len(s.sentOf("B", coordID, wire.TypeQuery, "TX1")) != 1 {
				t.Fatal("B asked again about a decided transaction")
			}
		})
	}
}

// The participant makes COMMIT durable and crashes before it can ack.
func TestSimParticipantCrashBeforeAck(t *testing.T) {
	s := newSim(t, "A", "B")
	s.seed("A", "balance", "10")
	s.seed("B", "balance", "10")
	s.nodes["B"].log.manual = true
	s.begin("TX1", opsFor(s.ids, add("balance", 5)))
	s.run()
	s.sync("B") // PREPARED
	s.run()     // the COMMIT for B is written, not yet durable
	s.syncThenCrash("B")
	s.restart("B")
	s.run()
	s.wantBalance("15", "A", "B")
	if s.state("B", "TX1") != wire.StateCommitted {
		t.Fatal("B lost its commit")
	}
	// B had no chance to ack and is not in doubt: nothing in the machines
	// makes the coordinator send the COMMIT again, so the transaction never
	// finishes (see the report). A restarted coordinator does finish it.
	if s.finished["TX1"] != 0 {
		t.Fatal("finished without B's ack")
	}
	s.crash(coordID)
	s.restart(coordID)
	s.run()
	if s.finished["TX1"] != 1 {
		t.Fatalf("recovered coordinator did not finish\n%s", s.trace())
	}
	s.wantBalance("15", "A", "B")
}

// A participant crashes with PREPARED not yet durable: it forgets TX1.
func TestSimParticipantCrashPreparePending(t *testing.T) {
	s := newSim(t, "A", "B")
	s.nodes["B"].log.manual = true
	s.begin("TX1", opsFor(s.ids, set("k", "v")))
	s.run()
	s.crash("B")
	s.nodes["B"].log.manual = false
	s.restart("B")
	s.run()
	if s.state("B", "TX1") != wire.StateUnknown || len(s.part("B").Locked()) != 0 {
		t.Fatal("B remembers an unlogged PREPARE")
	}
	s.fire(coordID, "TX1")
	s.run()
	s.wantOutcome("TX1", wire.StateAborted, "A", "B")
	if s.replyFor("TX1")[0].Reason != "no vote from B within 1s" {
		t.Errorf("reason %q", s.replyFor("TX1")[0].Reason)
	}
}

// The coordinator crashes with its decision durable, before phase two.
func TestSimCoordinatorCrashDecided(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			s := newSim(t, abc...)
			o := map[string][]wire.Op{}
			for _, id := range abc {
				s.seed(id, "balance", "1000")
				o[id] = ops(add("balance", -100))
			}
			if !commit {
				o["C"] = ops(add("balance", -2000))
			}
			s.nodes[coordID].log.manual = true
			s.begin("TX1", o)
			s.run()
			s.syncThenCrash(coordID)
			s.nodes[coordID].log.manual = false
			if len(s.replies) != 0 {
				t.Fatal("replied")
			}
			s.restart(coordID)
			// The decision goes to every member again, even C that voted NO.
			if n := len(s.sentOf(coordID, "", wire.TypeDecision, "TX1")); n != 3 {
				t.Fatalf("decision sent %d times on recovery", n)
			}
			s.run()
			want, bal := wire.StateCommitted, "900"
			if !commit {
				want, bal = wire.StateAborted, "1000"
			}
			for _, id := range abc {
				if s.state(id, "TX1") != want {
					t.Errorf("%s: %q", id, s.state(id, "TX1"))
				}
				s.noLocks(id)
			}
			s.wantBalance(bal, abc...)
			if s.finished["TX1"] != 1 || len(s.replies) != 0 {
				t.Fatalf("finished %d, replies %v", s.finished["TX1"], s.replies)
			}
			s.checkAtomic("TX1")
		})
	}
}

// The coordinator crashes before its decision is durable.
func TestSimCoordinatorCrashUndecided(t *testing.T) {
	t.Run("BEGIN durable: recovery aborts", func(t *testing.T) {
		s := newSim(t, "A", "B")
		s.filter = holdIf(isMsg("", coordID, wire.TypeVote))
		s.begin("TX1", opsFor(s.ids, set("k", "v")))
		s.run()
		s.syncThenCrash(coordID) // BEGIN reaches the disk
		s.held = nil             // the votes die with it
		s.filter = nil
		s.restart(coordID)
		s.run()
		for _, id := range s.ids {
			if s.state(id, "TX1") != wire.StateAborted {
				t.Errorf("%s: %q", id, s.state(id, "TX1"))
			}
			s.noLocks(id)
		}
		if s.finished["TX1"] != 1 {
			t.Fatal("not finished")
		}
		if s.records(coordID, RecDecision, "TX1") != 1 {
			t.Fatal("ABORT not logged before it was sent")
		}
	})
	t.Run("nothing durable: participants ask and learn presumed abort", func(t *testing.T) {
		s := newSim(t, "A", "B")
		s.filter = holdIf(isMsg("", coordID, wire.TypeVote))
		s.begin("TX1", opsFor(s.ids, set("k", "v")))
		s.run()
		s.crash(coordID)
		s.held, s.filter = nil, nil
		s.restart(coordID)
		s.run()
		for _, id := range s.ids {
			if s.state(id, "TX1") != wire.StateReady {
				t.Fatalf("%s: %q", id, s.state(id, "TX1"))
			}
			s.fire(id, "TX1")
		}
		s.run()
		for _, id := range s.ids {
			if s.state(id, "TX1") != wire.StateAborted {
				t.Errorf("%s: %q", id, s.state(id, "TX1"))
			}
			s.noLocks(id)
		}
	})
	t.Run("a NO voter that restarted acks the recovered ABORT", func(t *testing.T) {
		s := newSim(t, "A", "B")
		s.seed("B", "balance", "0")
		s.filter = holdIf(isMsg("", coordID, wire.TypeVote))
		s.begin("TX1", map[string][]wire.Op{"A": ops(set("k", "v")), "B": ops(add("balance", -1))})
		s.run()
		s.syncThenCrash(coordID)
		s.syncThenCrash("B") // B's lazy ABORT reached the disk
		s.held, s.filter = nil, nil
		s.restart("B")
		s.restart(coordID)
		s.run()
		if s.finished["TX1"] != 1 {
			t.Fatalf("recovered coordinator never finished\n%s", s.trace())
		}
		for _, id := range s.ids {
			if s.state(id, "TX1") != wire.StateAborted {
				t.Errorf("%s: %q", id, s.state(id, "TX1"))
			}
		}
	})
}

// Random schedules: reordering, duplication and random timer firing, two
// concurrent transactions on the same key. Nothing is lost, so everything
// must finish, atomically, with every commit applied exactly once.
func TestSimRandomNoLoss(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		runRandom(t, seed, false)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

// Random schedules with message loss and crashes of any node. Safety must
// hold throughout, and once the network heals every participant learns the
// outcome (by asking) and releases its locks.
func TestSimRandomChaos(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		runRandom(t, seed, true)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

func runRandom(t *testing.T, seed int64, chaos bool) {
	rng := rand.New(rand.NewSource(seed))
	s := newSim(t, abc...)
	s.rng = rng
	if rng.Intn(3) == 0 {
		s.ccfg.Delay = time.Second
	}
	for _, id := range abc {
		s.seed(id, "balance", "1000")
	}
	lossy := true
	s.filter = func(envelope) verdict {
		switch r := rng.Intn(20); {
		case r < 2:
			return dup
		case r < 4 && chaos && lossy:
			return drop
		}
		return deliver
	}
	txs := []struct {
		id    string
		delta int64
	}{{"TX1", -100}, {"TX2", -200}}
	started := 0
	startNext := func() {
		tx := txs[started]
		started++
		o := opsFor(abc, add("balance", tx.delta))
		if rng.Intn(4) == 0 { // sometimes one participant refuses
			o[abc[rng.Intn(3)]] = ops(add("balance", -5000))
		}
		if s.nodes[coordID].up {
			s.begin(tx.id, o)
		}
	}
	startNext()
	anyTimer := func() bool {
		var live []timerEv
		for _, tm := range s.timers {
			if s.nodes[tm.node].up && tm.inc == s.nodes[tm.node].inc {
				live = append(live, tm)
			}
		}
		if len(live) == 0 {
			return false
		}
		s.fireTimer(live[rng.Intn(len(live))])
		return true
	}
	for i := 0; i < 300; i++ {
		r := rng.Intn(100)
		switch {
		case r < 3 && started < len(txs):
			startNext()
		case r < 10:
			anyTimer()
		case r < 13 && chaos:
			id := append([]string{coordID}, abc...)[rng.Intn(4)]
			if s.nodes[id].up {
				s.crash(id)
			} else {
				s.restart(id)
			}
		default:
			s.step()
		}
	}
	for started < len(txs) {
		startNext()
	}
	// Heal: everyone up, no more loss; let timers drive the rest.
	lossy = false
	for _, id := range append([]string{coordID}, abc...) {
		if !s.nodes[id].up {
			s.restart(id)
		}
	}
	for round := 0; round < 50; round++ {
		s.run()
		if !anyTimer() {
			break
		}
	}
	s.run()
	// Every participant knows a final outcome of each transaction it voted
	// YES on, and holds no lock.
	for _, tx := range txs {
		s.checkAtomic(tx.id)
		for _, id := range abc {
			if st := s.state(id, tx.id); st == wire.StateReady {
				t.Errorf("%s still in doubt on %s", id, tx.id)
			}
		}
	}
	want := int64(1000)
	for _, tx := range txs {
		committed := false
		for _, id := range abc {
			if s.state(id, tx.id) == wire.StateCommitted {
				committed = true
			}
		}
		if committed {
			want += tx.delta
		}
		for _, r := range s.replyFor(tx.id) {
			// Replied COMMITTED must mean every participant committed.
			if r.Outcome == wire.StateCommitted {
				for _, id := range abc {
					if s.state(id, tx.id) != wire.StateCommitted {
						t.Errorf("%s replied COMMITTED but %s is %q", tx.id, id, s.state(id, tx.id))
					}
				}
			}
		}
		if !chaos && s.finished[tx.id] != 1 {
			t.Errorf("%s finished %d times without loss", tx.id, s.finished[tx.id])
		}
	}
	for _, id := range abc {
		s.noLocks(id)
		s.wantBalance(fmt.Sprint(want), id)
	}
	if t.Failed() {
		t.Logf("trace:\n%s", s.trace())
	}
}
