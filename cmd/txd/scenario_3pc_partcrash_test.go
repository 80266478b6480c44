package main

// A 3PC participant kill -9ed in each state, on real processes (conventions
// and the crash windows' timing: helpers_test.go).

import (
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// A participant is killed (kill -9) in each 3PC state and restarted on
// its WAL; it ends with the other participant's outcome, the ADD applied
// once. Where it matters, the coordinator dies too and the surviving
// participant decides by the termination protocol; the restarted one then
// learns the outcome from it.
func Test3PCParticipantCrashInEachState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	cfg := cluster.Config{CoordLogLevel: "debug", CoordDelay: termDelay, PartTimeout: termTimeout}

	// readyAndKillC starts TX1 and kill -9s C while both are READY, in the
	// coordinator's delay d before PRE-COMMIT.
	readyAndKillC := func(t *testing.T, c *cluster.Cluster, d time.Duration) <-chan started {
		launched := time.Now()
		ch := startAsync(c, "TX1", "3PC", "ADD", "balance", "10")
		beforePreCommit(t, c, launched, d, "TX1")
		kill9(t, c.Part("C"))
		if since := time.Since(launched); since >= d {
			t.Fatalf("C was killed %v after the start, after the coordinator's --delay of %v: it may have been PRECOMMITTED", since, d)
		}
		return ch
	}
	// precommittedAndKillC commits TX1 and kill -9s C while both are
	// PRECOMMITTED, in the coordinator's delay before DO-COMMIT.
	precommittedAndKillC := func(t *testing.T, c *cluster.Cluster) {
		out, r := c.StartTx("TX1", "3PC", "ADD", "balance", "10")
		wantOutcome(t, out, r, 0, "COMMITTED")
		wantPrecommitted(t, c, "TX1", termDelay)
		kill9(t, c.Part("C"))
		inPhaseTwoDelay(t, c, "TX1", termDelay, time.Now())
	}
	// restartC restarts C and checks it replayed TX1 as in doubt.
	restartC := func(t *testing.T, c *cluster.Cluster) time.Time {
		restart(t, c.Part("C"))
		if lines := c.Part("C").LogLines("wal replayed", "in_doubt=1"); len(lines) == 0 {
			t.Errorf("C's restart did not replay TX1 as in doubt (no \"wal replayed ... in_doubt=1\" line)")
		}
		return time.Now()
	}
	committed := all(inState("TX1", "COMMITTED"), hasValue("balance", "10"))
	aborted := all(inState("TX1", "ABORTED"), emptyStore)

	t.Run("READY/coordinator finishes", func(t *testing.T) {
		c := startCluster(t, cfg)
		ch := readyAndKillC(t, c, termDelay)
		// Everyone voted YES: when C does not acknowledge PRE-COMMIT within
		// the coordinator's --timeout, the coordinator commits anyway.
		s := awaitStart(t, ch)
		wantOutcome(t, s.out, s.r, 0, "COMMITTED")
		waitPart(t, c, "B", "TX1 committed (DO-COMMIT after the second delay)", committed)
		expectCoord(t, c, "TX1 committed, C's acknowledgement missing",
			coordTx("TX1", "COMMITTED", map[string]string{"B": "COMMITTED", "C": "READY"}))

		restarted := restartC(t, c)
		took := waitOutcome(t, c, restarted, "TX1", "COMMITTED", "C")
		t.Logf("restarted C committed %v after its restart, the coordinator alive", took.Round(time.Millisecond))
		if err := eachPart(c, []string{"C"}, all(committed, notTerminated("TX1")))(); err != nil {
			t.Error(err)
		}
		waitCoord(t, c, "TX1 committed everywhere", coordTx("TX1", "COMMITTED", both("COMMITTED")))
		cluster.Consistently(t, 2*termTimeout, "applied once on both", eachPart(c, []string{"B", "C"}, committed))
	})

	t.Run("READY/coordinator dies after PRE-COMMIT reached B", func(t *testing.T) {
		cfg := cfg
		cfg.CoordTimeout = 5 * time.Second // how long the coordinator waits for C's ack of PRE-COMMIT: it must not decide
		c := startCluster(t, cfg)
		ch := readyAndKillC(t, c, termDelay)
		// After the delay PRE-COMMIT reaches B only; the coordinator waits
		// for C's ack and dies undecided.
		waitPart(t, c, "B", "TX1 PRECOMMITTED", inState("TX1", "PRECOMMITTED"))
		if err := coordTx("TX1", "PRECOMMITTED", map[string]string{"B": "PRECOMMITTED", "C": "READY"})(c.MustCoordStatus()); err != nil {
			t.Fatalf("coordinator, before its kill: %v", err)
		}
		kill9(t, c.Coord)
		killed := time.Now()
		wantUnknown(t, awaitStart(t, ch))
		// B alone, PRECOMMITTED, hears nobody: it commits (the ADD is applied).
		took := waitOutcome(t, c, killed, "TX1", "COMMITTED", "B")
		t.Logf("B alone committed %v after the coordinator's kill", took.Round(time.Millisecond))
		if err := eachPart(c, []string{"B"}, all(committed, reasonHas("TX1", "termination protocol")))(); err != nil {
			t.Error(err)
		}

		// C comes back READY, with no coordinator: B, which is up and
		// COMMITTED, is the only one that can tell it anything, and by the
		// termination rules (any COMMITTED → commit) C must commit too.
		restarted := restartC(t, c)
		took = waitOutcome(t, c, restarted, "TX1", "COMMITTED", "C")
		t.Logf("restarted C reached COMMITTED %v after its restart, no coordinator running", took.Round(time.Millisecond))
		if c.Coord.Running() {
			t.Fatal("the coordinator is running")
		}
		if err := eachPart(c, []string{"C"}, all(committed, decidedByPeer("TX1", "B")))(); err != nil {
			t.Error(err)
		}
		cluster.Consistently(t, 2*termTimeout, "applied once on both", eachPart(c, []string{"B", "C"}, committed))
	})

	t.Run("READY/coordinator dies too", func(t *testing.T) {
		cfg := cfg
		cfg.CoordDelay = killWindow // never waited out
		c := startCluster(t, cfg)
		ch := readyAndKillC(t, c, killWindow)
		kill9(t, c.Coord)
		killed := time.Now()
		wantUnknown(t, awaitStart(t, ch))
		// B alone, READY, hears nobody: it aborts.
		took := waitOutcome(t, c, killed, "TX1", "ABORTED", "B")
		t.Logf("B alone aborted %v after the coordinator's kill", took.Round(time.Millisecond))
		if err := eachPart(c, []string{"B"}, all(aborted, reasonHas("TX1", "termination protocol")))(); err != nil {
			t.Error(err)
		}

		restarted := restartC(t, c)
		took = waitOutcome(t, c, restarted, "TX1", "ABORTED", "C")
		t.Logf("restarted C reached ABORTED %v after its restart, no coordinator running", took.Round(time.Millisecond))
		if c.Coord.Running() {
			t.Fatal("the coordinator is running")
		}
		if err := eachPart(c, []string{"C"}, all(aborted, decidedByPeer("TX1", "B")))(); err != nil {
			t.Error(err)
		}
	})

	t.Run("PRECOMMITTED/coordinator finishes", func(t *testing.T) {
		c := startCluster(t, cfg)
		precommittedAndKillC(t, c)
		waitPart(t, c, "B", "TX1 committed (DO-COMMIT after the second delay)", committed)
		expectCoord(t, c, "TX1 committed, C's acknowledgement missing",
			coordTx("TX1", "COMMITTED", map[string]string{"B": "COMMITTED", "C": "PRECOMMITTED"}))

		restarted := restartC(t, c)
		took := waitOutcome(t, c, restarted, "TX1", "COMMITTED", "C")
		t.Logf("restarted C committed %v after its restart, the coordinator alive", took.Round(time.Millisecond))
		if err := eachPart(c, []string{"C"}, all(committed, notTerminated("TX1")))(); err != nil {
			t.Error(err)
		}
		waitCoord(t, c, "TX1 committed everywhere", coordTx("TX1", "COMMITTED", both("COMMITTED")))
		cluster.Consistently(t, 2*termTimeout, "applied once on both", eachPart(c, []string{"B", "C"}, committed))
	})

	t.Run("PRECOMMITTED/coordinator dies too", func(t *testing.T) {
		c := startCluster(t, cfg)
		precommittedAndKillC(t, c)
		kill9(t, c.Coord)
		killed := time.Now()
		// B alone, PRECOMMITTED, hears nobody: it commits.
		took := waitOutcome(t, c, killed, "TX1", "COMMITTED", "B")
		t.Logf("B alone committed %v after the coordinator's kill", took.Round(time.Millisecond))
		if err := eachPart(c, []string{"B"}, all(committed, reasonHas("TX1", "termination protocol")))(); err != nil {
			t.Error(err)
		}

		restarted := restartC(t, c)
		took = waitOutcome(t, c, restarted, "TX1", "COMMITTED", "C")
		t.Logf("restarted C reached COMMITTED %v after its restart, no coordinator running", took.Round(time.Millisecond))
		if c.Coord.Running() {
			t.Fatal("the coordinator is running")
		}
		if err := eachPart(c, []string{"C"}, all(committed, decidedByPeer("TX1", "B")))(); err != nil {
			t.Error(err)
		}
		cluster.Consistently(t, 2*termTimeout, "applied once on both", eachPart(c, []string{"B", "C"}, committed))
	})

	t.Run("COMMITTED", func(t *testing.T) {
		c := startCluster(t, cluster.Config{PartTimeout: termTimeout}) // no delay
		out, r := c.StartTx("TX1", "3PC", "ADD", "balance", "10")
		wantOutcome(t, out, r, 0, "COMMITTED")
		for _, id := range []string{"B", "C"} {
			waitPart(t, c, id, "TX1 committed", committed)
		}
		waitCoord(t, c, "TX1 committed everywhere", coordTx("TX1", "COMMITTED", both("COMMITTED")))

		kill9(t, c.Part("C"))
		restart(t, c.Part("C"))
		waitPart(t, c, "C", "TX1 committed after the restart, ADD applied once", committed)

		// The coordinator too: its log has TX1's END.
		kill9(t, c.Coord)
		c.StartCoord()
		waitCoord(t, c, "TX1 still committed everywhere", coordTx("TX1", "COMMITTED", both("COMMITTED")))
		out, r = c.StartTx("TX1", "3PC", "ADD", "balance", "10")
		wantOutcome(t, out, r, 0, "COMMITTED")

		out, r = c.StartTx("TX2", "3PC", "ADD", "balance", "5")
		wantOutcome(t, out, r, 0, "COMMITTED")
		for _, id := range []string{"B", "C"} {
			waitPart(t, c, id, "TX1 once and TX2 applied", all(inState("TX2", "COMMITTED"), hasValue("balance", "15")))
		}
	})
}
