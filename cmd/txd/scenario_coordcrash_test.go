package main

// The coordinator killed before any decision, on real processes
// (conventions: helpers_test.go): presumed abort everywhere.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// The coordinator dies (kill -9) before any decision: it is waiting for
// the vote of participant C, which is down. On restart it finds no
// decision in its log and aborts (presumed abort) everywhere, releasing
// B's lock.
//
// The undecided window is short, and timing decides whether the kill lands
// in it: the coordinator aborts by itself once it finds C unreachable (its
// connection lost, and a dial begun after TX1 started failed), at a
// retransmission a few hundred milliseconds in (TestParticipantDownAtPrepare).
// On a loaded machine the test may first see TX1 after that abort, or kill
// the coordinator just after it. Every course is legitimate and ends the
// same way: TX1 aborted everywhere, nothing applied, no lock left. What
// fails the test: TX1 committed anywhere, the client told COMMITTED, or told
// ABORTED without a logged decision, or any node left short of the abort.
func TestCoordinatorCrashBeforeDecision(t *testing.T) {
	// A vote wait far longer than the test: only C's unreachability, never
	// the vote timeout, can make the coordinator decide before the kill.
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", CoordTimeout: time.Minute})
	kill9(t, c.Part("C"))

	done := startAsync(c, "TX1", "2PC", "SET", "balance", "1000")

	// Undecided with B's YES vote (B READY, holding the lock on balance;
	// C's vote awaited), or already aborted: either way, kill it then.
	var course string
	var wrong error
	waitCoord(t, c, "TX1 undecided with B's YES vote, or aborted with C unreachable", func(st cluster.CoordOut) error {
		tx, ok := st.Tx("TX1")
		switch {
		case !ok:
			return errors.New("TX1 not listed")
		case tx.State == "ABORTED":
			course = "seen aborted (" + tx.Reason + ")"
		case tx.State == "INIT" && tx.Participants["B"] == "READY" && tx.Participants["C"] == "INIT":
			course = "seen undecided"
		case tx.State == "INIT":
			return fmt.Errorf("TX1 INIT, members %v: B's vote not in yet", tx.Participants)
		default:
			wrong = fmt.Errorf("TX1 is %s (reason %q, members %v) with C down: only INIT or ABORTED can be", tx.State, tx.Reason, tx.Participants)
		}
		return nil
	})
	if wrong != nil {
		t.Fatal(wrong)
	}
	kill9(t, c.Coord)

	// The client was answered ABORTED if the decision was durable before
	// the kill (the coordinator logs it before it answers), else UNKNOWN.
	s := awaitStart(t, done)
	decided := c.Coord.LogLines(`msg="transaction decided"`, " tx=TX1 ")
	for _, l := range decided {
		if !strings.Contains(l, " outcome=ABORTED ") {
			t.Errorf("the coordinator decided TX1 other than ABORTED with C down: %s", l)
		}
	}
	switch {
	case s.r.Code == 2 && s.out.Outcome == "UNKNOWN":
	case s.r.Code == 1 && s.out.Outcome == "ABORTED" && len(decided) > 0:
		course = "aborted and answered"
	default:
		t.Fatalf("client of the killed coordinator: want exit 2 and UNKNOWN, or exit 1 and ABORTED after a logged decision (%d logged); got %v", len(decided), s.r)
	}
	t.Logf("TX1 %s before the kill; decision logged before the kill: %v", course, len(decided) > 0)

	c.Coord.SetFlag("timeout", "1s")
	c.StartCoord()
	restart(t, c.Part("C"))
	c.WaitConnected("B", "C")

	aborted := all(inState("TX1", "ABORTED"), hasValue("balance", ""))
	waitPart(t, c, "B", "TX1 aborted", aborted)
	if len(decided) == 0 {
		// No decision in the log: the restarted coordinator aborts TX1
		// with every member, C included.
		waitPart(t, c, "C", "TX1 aborted", aborted)
	} else {
		// C never saw TX1: a coordinator that had finished TX1 before the
		// kill has nothing more to tell it (presumed abort).
		waitPart(t, c, "C", "TX1 aborted or unknown, nothing applied", func(p cluster.ParticipantOut) error {
			if s := p.TxState("TX1"); s != "" && s != "ABORTED" {
				return fmt.Errorf("TX1 is %s, want ABORTED or unknown (presumed abort)", s)
			}
			return hasValue("balance", "")(p)
		})
	}
	waitCoord(t, c, "TX1 aborted everywhere", coordTx("TX1", "ABORTED", both("ABORTED")))
	// The client that lost its answer learns the outcome by asking again.
	out, r := c.StartTx("TX1", "2PC", "SET", "balance", "1000")
	wantOutcome(t, out, r, 1, "ABORTED")

	// No lock survives: a new transaction on the same key commits.
	commit(t, c, "TX2", "SET", "balance", "2000")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX2 committed", all(inState("TX2", "COMMITTED"), hasValue("balance", "2000")))
	}
}
