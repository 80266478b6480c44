package sim

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// 2PC end to end: one coordinator and N participants on the simulated
// network, votes, timeouts, reordering and duplicates. The simulator
// itself checks persist-before-send on every message, and
// acks-before-Finished.

// Every vote combination for 2 and 3 participants, under FIFO and several
// random delivery orders.
func TestSimVoteCombinations(t *testing.T) {
	for _, n := range []int{2, 3} {
		ids := abc[:n]
		for mask := 0; mask < 1<<n; mask++ {
			for seed := int64(0); seed < 6; seed++ {
				name := fmt.Sprintf("n%d/yes%0*b/seed%d", n, n, mask, seed)
				t.Run(name, func(t *testing.T) {
					s := New(t, ids...)
					if seed > 0 {
						s.Rng = rand.New(rand.NewSource(seed))
					}
					o := map[string][]wire.Op{}
					var noVoters []string
					for i, id := range ids {
						s.Seed(id, "balance", "1000")
						if mask&(1<<i) != 0 {
							o[id] = ops(add("balance", -100))
						} else {
							o[id] = ops(add("balance", -5000))
							noVoters = append(noVoters, id)
						}
					}
					s.Begin("TX1", o)
					s.Run()
					if len(noVoters) == 0 {
						s.wantOutcome("TX1", wire.StateCommitted, ids...)
						s.wantBalance("900", ids...)
						for _, id := range ids {
							if c := s.Records(id, protocol.RecCommit, "TX1"); c != 1 {
								t.Errorf("%s logged COMMIT %d times", id, c)
							}
						}
						return
					}
					s.wantOutcome("TX1", wire.StateAborted, ids...)
					s.wantBalance("1000", ids...)
					reason := s.Replies("TX1")[0].Reason
					who, why, _ := strings.Cut(reason, ": ")
					if !slices.Contains(noVoters, who) || why != "balance would be -4000" {
						t.Errorf("reason %q, want one of %v with its reason", reason, noVoters)
					}
					if seed == 0 && who != noVoters[0] {
						t.Errorf("FIFO: reason names %s, want %s", who, noVoters[0])
					}
					for _, id := range ids {
						if s.Records(id, protocol.RecCommit, "TX1") != 0 {
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
			s := New(t, "B", "C")
			s.Seed("B", "balance", "1000")
			s.Seed("C", "balance", "0")
			ct := s.Begin("TX1", map[string][]wire.Op{
				"B": ops(add("balance", -tc.amount)),
				"C": ops(add("balance", tc.amount)),
			})
			for _, m := range s.SentOf(CoordID, "", wire.TypePrepare, "TX1") {
				p := m.(*wire.Prepare)
				if len(p.Ops) != 1 || p.Ops[0].Key != "balance" {
					t.Fatalf("PREPARE %+v", p)
				}
			}
			s.Run()
			s.wantOutcome("TX1", tc.outcome, "B", "C")
			s.wantBalance(tc.b, "B")
			s.wantBalance(tc.c, "C")
			if r := s.Replies("TX1")[0].Reason; r != tc.reason {
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
	s := New(t, abc...)
	s.Crash("C")
	s.Begin("TX1", opsFor(abc, set("k", "v")))
	s.Run()
	if d, _, _ := s.Coord("TX1").Decided(); d || len(s.replies) != 0 {
		t.Fatal("decided without C's vote and before the timer")
	}
	// The vote timer fires: abort.
	if n := s.Fire(CoordID, "TX1"); n != 1 {
		t.Fatalf("%d coordinator timers", n)
	}
	s.Run()
	s.wantOutcome("TX1", wire.StateAborted, "A", "B")
	if r := s.Replies("TX1")[0].Reason; r != "no vote from C within 1s" {
		t.Errorf("reason %q", r)
	}
	// Stale: the vote timer's seq is void.
	if effs := s.Coord("TX1").Timer(1); effs != nil {
		t.Errorf("stale timer: %q", protocol.Kinds(effs))
	}
	// C comes back knowing nothing, and has nothing to ask about.
	s.Restart("C")
	s.Run()
	if got := s.State("C", "TX1"); got != wire.StateUnknown {
		t.Errorf("C: %q", got)
	}
}

// The END and Finished wait for exactly the needed acks.
func TestSimFinishedWaitsForAcks(t *testing.T) {
	s := New(t, abc...)
	s.Filter = HoldIf(Is("", CoordID, wire.TypeAck))
	s.Begin("TX1", opsFor(abc, set("k", "v")))
	s.Run()
	if len(s.held) != 3 {
		t.Fatalf("%d acks held", len(s.held))
	}
	for i, id := range []string{"C", "A", "B"} {
		if s.finished["TX1"] != 0 || s.Records(CoordID, protocol.RecEnd, "TX1") != 0 {
			t.Fatalf("finished before the ack of %s", id)
		}
		// Duplicated, too.
		s.Filter = func(Envelope) Verdict { return Dup }
		s.Release(func(e Envelope) bool { return e.From == id }, false)
		s.Run()
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
			s := New(t, abc...)
			for _, id := range abc {
				s.Seed(id, "balance", "1000")
			}
			s.Filter = HoldIf(func(e Envelope) bool {
				return e.From == "C" || e.To == "C" && e.Msg.Type() == wire.TypeDecision ||
					!afterFinished && e.To == CoordID && e.Msg.Type() == wire.TypeAck
			})
			s.Begin("TX1", opsFor(abc, add("balance", -1)))
			s.Run()
			s.Fire(CoordID, "TX1")
			s.Run()
			if got := s.State("C", "TX1"); got != wire.StateReady {
				t.Fatalf("C: %q", got)
			}
			if (s.finished["TX1"] == 1) != afterFinished {
				t.Fatalf("finished=%d", s.finished["TX1"])
			}
			// C's YES arrives; the courtesy ABORT to C stays lost.
			s.Filter = nil
			s.Release(func(e Envelope) bool { return e.From == "C" }, false)
			s.held = slices.DeleteFunc(s.held, func(e Envelope) bool { return e.To == "C" })
			s.Run()
			if !afterFinished {
				if s.finished["TX1"] != 0 {
					t.Fatal("finished without acks")
				}
				// A and B ack: still waiting for C? No: C's ack came already.
				s.Release(nil, false)
				s.Run()
			}
			s.wantOutcome("TX1", wire.StateAborted, abc...)
			s.wantBalance("1000", abc...)
			if len(s.SentOf(CoordID, "C", wire.TypeDecision, "TX1")) != 2 {
				t.Errorf("ABORT sent to C %d times, want 2 (courtesy, then after its YES)",
					len(s.SentOf(CoordID, "C", wire.TypeDecision, "TX1")))
			}
		})
	}

	// Before Finished the late voter's ack is awaited.
	s := New(t, abc...)
	s.Filter = HoldIf(func(e Envelope) bool {
		return e.From == "C" && e.Msg.Type() == wire.TypeVote || e.To == "C" && e.Msg.Type() == wire.TypeDecision
	})
	s.Begin("TX1", opsFor(abc, set("k", "v")))
	s.Run()
	s.Fire(CoordID, "TX1")
	s.Filter = HoldIf(Is("", CoordID, wire.TypeAck))
	s.Run() // A and B ack, held
	// The courtesy ABORT to C is lost.
	s.held = slices.DeleteFunc(s.held, Is(CoordID, "C", wire.TypeDecision))
	s.Release(Is("C", CoordID, wire.TypeVote), false)
	s.Run() // the coordinator sends C an ABORT; C acks, held
	if n := len(s.SentOf(CoordID, "C", wire.TypeDecision, "TX1")); n != 2 || s.State("C", "TX1") != wire.StateAborted {
		t.Fatalf("C got %d ABORTs and is %q", n, s.State("C", "TX1"))
	}
	s.Release(func(e Envelope) bool { return e.From != "C" }, false)
	s.Run()
	if s.finished["TX1"] != 0 {
		t.Fatal("finished without the late YES voter's ack")
	}
	s.Release(nil, false)
	s.Run()
	if s.finished["TX1"] != 1 {
		t.Fatalf("not finished after C's ack\n%s", s.Trace())
	}
}

// Each round of messages held and then delivered in reverse order.
func TestSimReorder(t *testing.T) {
	for _, fail := range []bool{false, true} {
		s := New(t, abc...)
		s.Filter = func(Envelope) Verdict { return Hold }
		o := opsFor(abc, set("k", "v"))
		if fail {
			o["C"] = ops(add("k", -1))
		}
		s.Begin("TX1", o)
		for round := 0; round < 10 && len(s.held) > 0; round++ {
			s.Release(nil, true)
			s.Run()
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
			s := New(t, abc...)
			if seed > 0 {
				s.Rng = rand.New(rand.NewSource(seed))
			}
			s.Filter = func(Envelope) Verdict { return Dup }
			o := map[string][]wire.Op{}
			for _, id := range abc {
				s.Seed(id, "balance", "1000")
				o[id] = ops(add("balance", -100))
			}
			if fail {
				o["B"] = ops(add("balance", -1001))
			}
			s.Begin("TX1", o)
			s.Run()
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

func TestSimLocking(t *testing.T) {
	s := New(t, "A", "B")
	for _, id := range s.ids {
		s.Seed(id, "balance", "1000")
	}
	// TX1 is decided, but its COMMITs are slow.
	s.Filter = HoldIf(Is(CoordID, "", wire.TypeDecision))
	s.Begin("TX1", opsFor(s.ids, add("balance", -100)))
	s.Run()
	// TX2 on the same key: NO at once.
	s.Filter = nil
	s.Begin("TX2", opsFor(s.ids, add("balance", -1)))
	// TX3 on another key: fine.
	s.Begin("TX3", opsFor(s.ids, set("other", "x")))
	s.Run()
	if r := s.Replies("TX2"); len(r) != 1 || r[0].Outcome != wire.StateAborted || r[0].Reason != "A: key balance is locked by TX1" {
		t.Fatalf("TX2 %+v", r)
	}
	if r := s.Replies("TX3"); len(r) != 1 || r[0].Outcome != wire.StateCommitted {
		t.Fatalf("TX3 %+v", r)
	}
	for _, id := range s.ids {
		if l := s.Part(id).Locked(); !slices.Equal(l, [][2]string{{"balance", "TX1"}}) {
			t.Fatalf("%s locks %v", id, l)
		}
	}
	s.Release(nil, false)
	s.Run()
	s.wantOutcome("TX1", wire.StateCommitted, s.ids...)
	s.wantOutcome("TX2", wire.StateAborted, s.ids...)
	s.wantOutcome("TX3", wire.StateCommitted, s.ids...)
	// Free again.
	s.Begin("TX4", opsFor(s.ids, add("balance", -1)))
	s.Run()
	s.wantOutcome("TX4", wire.StateCommitted, s.ids...)
	s.wantBalance("899", s.ids...)
}
