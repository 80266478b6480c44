package main

// The coordinator killed before any decision, on real processes
// (conventions: helpers_test.go): presumed abort everywhere.

import (
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// The coordinator dies (kill -9) before any decision: it is waiting for
// the vote of participant C, which is down. On restart it finds no
// decision in its log and aborts (presumed abort) everywhere, releasing
// B's lock.
func TestCoordinatorCrashBeforeDecision(t *testing.T) {
	// A vote wait far longer than the test: the coordinator must still be
	// undecided when it is killed.
	c := startCluster(t, cluster.Config{CoordTimeout: time.Minute})
	kill9(t, c.Part("C"))

	done := startAsync(c, "TX1", "2PC", "SET", "balance", "1000")

	waitPart(t, c, "B", "TX1 READY (holding the lock on balance)", inState("TX1", "READY"))
	waitCoord(t, c, "TX1 undecided", coordTx("TX1", "INIT", map[string]string{"C": "INIT"}))
	// The coordinator has B's YES vote: its status should say so.
	expectCoord(t, c, "status shows B's YES vote while TX1 is undecided",
		coordTx("TX1", "INIT", map[string]string{"B": "READY", "C": "INIT"}))
	kill9(t, c.Coord)

	wantUnknown(t, awaitStart(t, done))

	c.Coord.SetFlag("timeout", "1s")
	c.StartCoord()
	restart(t, c.Part("C"))
	c.WaitConnected("B", "C")

	aborted := all(inState("TX1", "ABORTED"), hasValue("balance", ""))
	waitPart(t, c, "B", "TX1 aborted", aborted)
	waitPart(t, c, "C", "TX1 aborted", aborted)
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
