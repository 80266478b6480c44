package main

// PARALLEL on real processes (conventions: helpers_test.go): the client
// hears COMMITTED as soon as the last vote is in, the coordinator is
// kill -9ed before it tells the members, and they finish by asking each
// other. A restarted coordinator learns the outcome from them, and a retry
// of the id gets it without running again.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// parallelTimeout is the participants' --timeout here: they ask every
// member once their vote has waited that long.
const parallelTimeout = time.Second

func TestParallelCoordinatorKilledAfterVotes(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", CoordDelay: killWindow, PartTimeout: parallelTimeout})
	parts := []string{"B", "C"}

	out, r := c.StartTx("TX1", "PARALLEL", "ADD", "balance", "100")
	wantOutcome(t, out, r, 0, "COMMITTED")
	if r.Elapsed >= killWindow {
		t.Fatalf("PARALLEL answered after %v, not before the coordinator's --delay of %v", r.Elapsed, killWindow)
	}
	kill9(t, c.Coord)
	killed := time.Now()
	inPhaseTwoDelay(t, c, "TX1", killWindow, killed)
	for _, id := range parts {
		if tx, _ := c.MustPartStatus(id).Tx("TX1"); tx.State != "READY" {
			t.Fatalf("%s: TX1 is %q at the kill, want READY (the COMMIT is held by the --delay)", id, tx.State)
		}
	}

	took := waitOutcome(t, c, killed, "TX1", "COMMITTED", parts...)
	t.Logf("PARALLEL, coordinator killed after the votes (client told COMMITTED in %v): both COMMITTED %v after the kill, no coordinator (participant --timeout %v)",
		r.Elapsed.Round(time.Millisecond), took.Round(time.Millisecond), parallelTimeout)
	if took > 2*parallelTimeout {
		t.Errorf("the participants finished %v after the kill; want within 2 x --timeout (%v)", took, 2*parallelTimeout)
	}
	for _, id := range parts {
		tx, _ := c.MustPartStatus(id).Tx("TX1")
		t.Logf("%s: TX1 %s %s: %s", id, tx.Protocol, tx.State, tx.Reason)
		if tx.Protocol != "PARALLEL" {
			t.Errorf("%s: TX1's protocol is %q, want PARALLEL", id, tx.Protocol)
		}
		if !strings.Contains(tx.Reason, "every member voted YES") && !strings.Contains(tx.Reason, "learned from ") {
			t.Errorf("%s: TX1 committed for a reason that is neither the members' votes nor a peer: %q", id, tx.Reason)
		}
	}

	// The coordinator comes back: it learns the outcome from the members,
	// and the client's retry of TX1 gets COMMITTED without a second run.
	c.Coord.DelFlag("delay")
	c.StartCoord()
	out, r = c.StartTx("TX1", "PARALLEL", "ADD", "balance", "100")
	wantOutcome(t, out, r, 0, "COMMITTED")
	waitCoord(t, c, "TX1 COMMITTED, PARALLEL", func(st cluster.CoordOut) error {
		tx, ok := st.Tx("TX1")
		if !ok || tx.State != "COMMITTED" || tx.Protocol != "PARALLEL" {
			return fmt.Errorf("TX1: %+v", tx)
		}
		return nil
	})
	cluster.Consistently(t, 3*parallelTimeout, "the retry applies nothing: balance stays 100",
		eachPart(c, parts, all(inState("TX1", "COMMITTED"), hasValue("balance", "100"))))

	// A NO (B's balance would go negative) aborts it, at once.
	out, r = c.StartTx("TX2", "PARALLEL", "B:ADD", "balance", "-5000", "C:ADD", "balance", "5000")
	wantOutcome(t, out, r, 1, "ABORTED")
	waitPart(t, c, "C", "TX2 aborted, balance 100", all(inState("TX2", "ABORTED"), hasValue("balance", "100")))

	// The trace shows what happened without the coordinator: the members
	// asked each other, and one that found every vote YES told the other.
	tr := waitTrace(t, c, "TX1", "the members' side", need(
		"B force PREPARED|", "B send VOTE YES|COORD", "B send QUERY|C", "B force COMMIT|",
		"C force PREPARED|", "C send VOTE YES|COORD", "C force COMMIT|"))
	if tr.Protocol != "PARALLEL" {
		t.Errorf("trace header: protocol %q, want PARALLEL", tr.Protocol)
	}
}

// The coordinator's metrics count PARALLEL outcomes under their own label.
func TestParallelMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	c := cluster.New(t, cluster.Shared(t), cluster.Config{})
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	maddr := "127.0.0.1:" + strconv.Itoa(port)
	c.Coord.SetFlag("metrics", maddr)
	for _, p := range c.Parts {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	c.StartCoord()

	out, r := c.StartTx("P1", "PARALLEL", "SET", "balance", "100")
	wantOutcome(t, out, r, 0, "COMMITTED")
	out, r = c.StartTx("P2", "PARALLEL", "B:ADD", "balance", "-200", "C:ADD", "balance", "200")
	wantOutcome(t, out, r, 1, "ABORTED")
	cluster.Eventually(t, waitTimeout, "the coordinator's PARALLEL series", func() error {
		f, err := scrape(maddr)
		if err != nil {
			return err
		}
		bad := f.want(
			eq(1, "txd_transactions_total", "protocol", "PARALLEL", "outcome", "committed"),
			eq(1, "txd_transactions_total", "protocol", "PARALLEL", "outcome", "aborted"),
			eq(1, "txd_commit_latency_seconds", "protocol", "PARALLEL", "outcome", "committed"),
			eq(0, "txd_transactions_total", "protocol", "2PC", "outcome", "committed"))
		if len(bad) > 0 {
			return errors.New(strings.Join(bad, "; "))
		}
		return nil
	})
}
