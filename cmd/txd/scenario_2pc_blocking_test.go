package main

// 2PC without its coordinator, on real processes (conventions and the crash
// windows' timing: helpers_test.go): it blocks; and its cooperative
// termination through a peer that knows the outcome.

import (
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// 2PC blocks: the coordinator dies (kill -9) in its delay, after
// deciding COMMIT; both participants are READY and stay READY, however
// often they ask; the restarted coordinator delivers the COMMIT.
func Test2PCBlockingWithoutCoordinator(t *testing.T) {
	const delay = killWindow // the kill comes at once; nothing waits this out
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", CoordDelay: delay, PartTimeout: termTimeout})
	parts := []string{"B", "C"}

	out, r := c.StartTx("TX1", "2PC", "ADD", "balance", "10")
	wantOutcome(t, out, r, 0, "COMMITTED")
	kill9(t, c.Coord)
	inPhaseTwoDelay(t, c, "TX1", delay, time.Now())

	blocked := all(inState("TX1", "READY"), emptyStore)
	for _, id := range parts {
		waitPart(t, c, id, "TX1 READY, nothing applied", blocked)
	}
	cluster.Consistently(t, 5*termTimeout, "B and C stay READY through 5 of their --timeouts, with no coordinator",
		eachPart(c, parts, blocked))

	c.Coord.DelFlag("delay")
	c.StartCoord()
	applied := all(inState("TX1", "COMMITTED"), hasValue("balance", "10"))
	for _, id := range parts {
		waitPart(t, c, id, "TX1 committed after the coordinator's restart", applied)
	}
	waitCoord(t, c, "TX1 committed everywhere", coordTx("TX1", "COMMITTED", both("COMMITTED")))
	cluster.Consistently(t, 2*termTimeout, "applied once on both", eachPart(c, parts, applied))
}

// 2PC cooperative termination: C dies (kill -9) READY, B then receives
// the COMMIT, and the coordinator dies. Restarted with no coordinator
// running, C asks its peer, learns COMMITTED from B and applies it once.
func Test2PCCooperativeTermination(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", CoordDelay: termDelay, PartTimeout: termTimeout})

	out, r := c.StartTx("TX1", "2PC", "ADD", "balance", "10")
	wantOutcome(t, out, r, 0, "COMMITTED")
	kill9(t, c.Part("C")) // READY in its WAL: it voted YES, the COMMIT waits out the delay
	inPhaseTwoDelay(t, c, "TX1", termDelay, time.Now())

	applied := all(inState("TX1", "COMMITTED"), hasValue("balance", "10"))
	waitPart(t, c, "B", "TX1 committed (COMMIT delivered after the delay)", applied)
	kill9(t, c.Coord)

	restart(t, c.Part("C"))
	restarted := time.Now()
	if lines := c.Part("C").LogLines("wal replayed", "in_doubt=1"); len(lines) == 0 {
		t.Errorf("C's restart did not replay TX1 as in doubt (no \"wal replayed ... in_doubt=1\" line)")
	}
	took := waitOutcome(t, c, restarted, "TX1", "COMMITTED", "C")
	t.Logf("restarted C learned COMMITTED from its peer %v after its restart, no coordinator running", took.Round(time.Millisecond))
	if c.Coord.Running() {
		t.Fatal("the coordinator is running")
	}
	if err := eachPart(c, []string{"C"}, all(applied, reasonHas("TX1", "learned from B")))(); err != nil {
		t.Error(err)
	}
	cluster.Consistently(t, 2*termTimeout, "applied once on both", eachPart(c, []string{"B", "C"}, applied))
}
