package main

// 3PC's termination without a coordinator, on real processes (conventions
// and the crash windows' timing: helpers_test.go): the coordinator kill -9ed
// in each of 3PC's windows, after which the participants decide by
// themselves (termination protocol) and a restarted coordinator reports what
// they decided.

import (
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// The coordinator dies (kill -9) with both participants READY, before
// PRE-COMMIT: they abort by themselves (all READY → abort), nothing is
// applied, and the key is free once a coordinator is back.
func Test3PCTerminationAbortWhenAllReady(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", CoordDelay: killWindow, PartTimeout: termTimeout})
	parts := []string{"B", "C"}

	killed := killCoordWhileReady(t, c, killWindow, "TX1", "ADD", "balance", "100")
	took := waitOutcome(t, c, killed, "TX1", "ABORTED", parts...)
	t.Logf("3PC, coordinator killed with both READY: both ABORTED %v after the kill, no coordinator (participant --timeout %v)",
		took.Round(time.Millisecond), termTimeout)
	wantTerminated(t, c, "TX1", took)
	if err := eachPart(c, parts, emptyStore)(); err != nil {
		t.Errorf("after the abort: %v", err)
	}

	// A coordinator comes back (without the delay): it agrees, and the key
	// is not locked: a new transaction on it commits.
	c.Coord.DelFlag("delay")
	c.StartCoord()
	expectCoord(t, c, "the restarted coordinator reports TX1 ABORTED, as the participants decided",
		coordTx("TX1", "ABORTED", both("ABORTED")))
	out, r := c.StartTx("TX2", "3PC", "ADD", "balance", "5")
	wantOutcome(t, out, r, 0, "COMMITTED")
	for _, id := range parts {
		waitPart(t, c, id, "TX2 committed on the freed key, TX1 still aborted",
			all(inState("TX1", "ABORTED"), inState("TX2", "COMMITTED"), hasValue("balance", "5")))
	}
}

// The coordinator dies (kill -9) with both participants PRECOMMITTED,
// before DO-COMMIT: they commit by themselves (any PRECOMMITTED → commit)
// and the ADD is applied exactly once.
func Test3PCTerminationCommitWhenPrecommitted(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", CoordDelay: termDelay, PartTimeout: termTimeout})
	parts := []string{"B", "C"}

	killed := killCoordWhilePrecommitted(t, c, termDelay, "TX1", "ADD", "balance", "100")
	took := waitOutcome(t, c, killed, "TX1", "COMMITTED", parts...)
	t.Logf("3PC, coordinator killed with both PRECOMMITTED: both COMMITTED %v after the kill, no coordinator (participant --timeout %v)",
		took.Round(time.Millisecond), termTimeout)
	wantTerminated(t, c, "TX1", took)
	cluster.Consistently(t, 3*termTimeout, "balance 100 on both: the ADD applied once",
		eachPart(c, parts, all(inState("TX1", "COMMITTED"), hasValue("balance", "100"))))
}

// After the participants decided alone in both windows, the coordinator
// restarts on its WAL and reports their outcomes (ABORTED for the
// transaction they aborted, COMMITTED for the one they committed); retried
// ids return those outcomes and apply nothing twice.
func Test3PCTerminationRestartedCoordinatorAgrees(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", CoordDelay: killWindow, PartTimeout: termTimeout})
	parts := []string{"B", "C"}

	killed := killCoordWhileReady(t, c, killWindow, "TXA", "ADD", "balance", "1000")
	took := waitOutcome(t, c, killed, "TXA", "ABORTED", parts...)
	t.Logf("TXA (killed while READY): ABORTED %v after the kill", took.Round(time.Millisecond))

	c.Coord.SetFlag("delay", termDelay.String()) // for the second window, which is waited for
	c.StartCoord()
	killed = killCoordWhilePrecommitted(t, c, termDelay, "TXB", "ADD", "balance", "100")
	took = waitOutcome(t, c, killed, "TXB", "COMMITTED", parts...)
	t.Logf("TXB (killed while PRECOMMITTED): COMMITTED %v after the kill", took.Round(time.Millisecond))

	c.Coord.DelFlag("delay")
	c.StartCoord()
	waitCoord(t, c, "TXA ABORTED and TXB COMMITTED, as the participants decided", func(st cluster.CoordOut) error {
		if err := coordTx("TXA", "ABORTED", both("ABORTED"))(st); err != nil {
			return err
		}
		return coordTx("TXB", "COMMITTED", both("COMMITTED"))(st)
	})
	for _, id := range []string{"TXA", "TXB"} {
		tx, _ := c.MustCoordStatus().Tx(id)
		t.Logf("restarted coordinator: %s %s %q", id, tx.State, tx.Reason)
	}

	out, r := c.StartTx("TXA", "3PC", "ADD", "balance", "1000")
	wantOutcome(t, out, r, 1, "ABORTED")
	out, r = c.StartTx("TXB", "3PC", "ADD", "balance", "100")
	wantOutcome(t, out, r, 0, "COMMITTED")
	cluster.Consistently(t, 3*termTimeout, "the retries apply nothing: balance stays 100",
		eachPart(c, parts, all(inState("TXA", "ABORTED"), inState("TXB", "COMMITTED"), hasValue("balance", "100"))))
}
