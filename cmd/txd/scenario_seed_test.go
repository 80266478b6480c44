package main

// The hand-out's seed scenarios on real processes (conventions:
// helpers_test.go): 1, a plain 2PC commit; 2 and 3, the coordinator killed
// after its COMMIT decision, the participants blocked until it restarts; 4,
// a standard 3PC commit.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// Seed scenario 1: a plain commit on both participants.
func TestSeedCommit(t *testing.T) {
	c := startCluster(t, cluster.Config{})

	_, r := c.StartTx("TX1", "2PC", "SET", "balance", "1000")
	if want := `{"id":"TX1","protocol":"2PC","outcome":"COMMITTED"}`; r.Code != 0 || strings.TrimSpace(r.Stdout) != want {
		t.Fatalf("want exit 0 and %s; got %v", want, r)
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 committed, balance 1000", all(inState("TX1", "COMMITTED"), hasValue("balance", "1000")))
	}
	waitCoord(t, c, "TX1 committed everywhere", coordTx("TX1", "COMMITTED", both("COMMITTED")))
}

// Seed scenarios 2 and 3: the coordinator dies (kill -9) after its
// COMMIT decision is durable and the client was told, before phase two.
// The participants block in READY, and stay there; the restarted
// coordinator finishes the commit from its log.
func TestSeedCoordinatorCrashAfterDecision(t *testing.T) {
	const (
		delay       = 5 * time.Second // the kill comes within milliseconds; no test waits this out
		partTimeout = time.Second
	)
	c := startCluster(t, cluster.Config{CoordDelay: delay, PartTimeout: partTimeout})

	begun := time.Now()
	out, r := c.StartTx("TX1", "2PC", "SET", "balance", "1000")
	wantOutcome(t, out, r, 0, "COMMITTED")
	kill9(t, c.Coord)
	// A READY participant asks the coordinator after --timeout, and a
	// coordinator in its --delay window answers with the decision: the
	// kill must come before that for the participants to block.
	if d := time.Since(begun); d >= partTimeout {
		t.Fatalf("the coordinator was killed %v after the start, after the participants' first query (--timeout %v): too slow for the scenario", d, partTimeout)
	}

	blocked := all(inState("TX1", "READY"), hasValue("balance", ""))
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 READY, store unchanged", blocked)
	}
	// READY participants ask the dead coordinator (and each other) every
	// --timeout; they must stay blocked through several of those.
	cluster.Consistently(t, 3*partTimeout+200*time.Millisecond, "B and C stay READY with the coordinator down", func() error {
		for _, id := range []string{"B", "C"} {
			st, err := c.PartStatus(id)
			if err != nil {
				return err
			}
			if err := blocked(st); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
		}
		return nil
	})

	c.Coord.DelFlag("delay")
	c.StartCoord()
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 committed after the coordinator's restart", all(inState("TX1", "COMMITTED"), hasValue("balance", "1000")))
	}
	waitCoord(t, c, "TX1 committed everywhere", coordTx("TX1", "COMMITTED", both("COMMITTED")))
	out, r = c.StartTx("TX1", "2PC", "SET", "balance", "1000")
	wantOutcome(t, out, r, 0, "COMMITTED")
}

// Seed scenario 4: a standard 3PC commit.
func TestSeedScenario4Commit3PC(t *testing.T) {
	c := startCluster(t, cluster.Config{})

	_, r := c.StartTx("TX2", "3PC", "SET", "data", "777")
	if want := `{"id":"TX2","protocol":"3PC","outcome":"COMMITTED"}`; r.Code != 0 || strings.TrimSpace(r.Stdout) != want {
		t.Fatalf("want exit 0 and %s; got %v", want, r)
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX2 committed, data 777", all(inState("TX2", "COMMITTED"), hasValue("data", "777")))
	}
	waitCoord(t, c, "TX2 committed everywhere", coordTx("TX2", "COMMITTED", both("COMMITTED")))
	if tx, _ := c.MustCoordStatus().Tx("TX2"); tx.Protocol != "3PC" {
		t.Errorf("coordinator lists TX2 as %q, want 3PC", tx.Protocol)
	}
	for _, id := range []string{"B", "C"} {
		if tx, _ := c.MustPartStatus(id).Tx("TX2"); tx.Protocol != "3PC" {
			t.Errorf("%s lists TX2 as %q, want 3PC", id, tx.Protocol)
		}
	}
}
