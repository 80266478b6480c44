package main

// Validation and transfers on real processes (conventions: helpers_test.go):
// a NO vote aborts and changes nothing, in 2PC and 3PC; a transfer between
// participants commits on both.

import (
	"strings"
	"testing"

	"github.com/txd/txd/cmd/internal/cluster"
)

// A participant votes NO because the result would be negative: the
// transaction aborts and no store changes.
func TestValidationAbort(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	commit(t, c, "TX1", "SET", "balance", "100")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "balance 100", all(inState("TX1", "COMMITTED"), hasValue("balance", "100")))
	}

	out, r := c.StartTx("TX2", "2PC", "B:ADD", "balance", "-200", "C:ADD", "balance", "200")
	wantOutcome(t, out, r, 1, "ABORTED")
	if !strings.Contains(out.Reason, "would be -100") {
		t.Errorf("reason %q does not say the balance would be -100", out.Reason)
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX2 aborted, balance still 100", all(inState("TX2", "ABORTED"), hasValue("balance", "100")))
	}
	// C voted YES (or its vote is on the way) and acks the ABORT: the
	// coordinator's status should end with both ABORTED.
	expectCoord(t, c, "TX2 aborted, both members ABORTED", coordTx("TX2", "ABORTED", both("ABORTED")))

	// Nothing stays locked.
	commit(t, c, "TX3", "B:ADD", "balance", "-1", "C:ADD", "balance", "1")
	waitPart(t, c, "B", "TX3 applied", hasValue("balance", "99"))
	waitPart(t, c, "C", "TX3 applied", hasValue("balance", "101"))
}

// A transfer between participants.
func TestTransfer(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	commit(t, c, "TX1", "SET", "balance", "1000")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "balance 1000", hasValue("balance", "1000"))
	}
	commit(t, c, "TX2", "B:ADD", "balance", "-100", "C:ADD", "balance", "100")
	waitPart(t, c, "B", "TX2 committed, 900", all(inState("TX2", "COMMITTED"), hasValue("balance", "900")))
	waitPart(t, c, "C", "TX2 committed, 1100", all(inState("TX2", "COMMITTED"), hasValue("balance", "1100")))
	waitCoord(t, c, "TX2 committed everywhere", coordTx("TX2", "COMMITTED", both("COMMITTED")))
}

// 3PC with a NO vote (B would go negative) aborts with the reason and
// changes nothing; a 3PC transfer commits.
func Test3PCValidationAndTransfer(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	out, r := c.StartTx("TX1", "3PC", "SET", "balance", "1000")
	wantOutcome(t, out, r, 0, "COMMITTED")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "balance 1000", all(inState("TX1", "COMMITTED"), hasValue("balance", "1000")))
	}

	out, r = c.StartTx("TX2", "3PC", "B:ADD", "balance", "-1100", "C:ADD", "balance", "1100")
	wantOutcome(t, out, r, 1, "ABORTED")
	if !strings.Contains(out.Reason, "B: balance would be -100") {
		t.Errorf("reason %q does not say B's balance would be -100", out.Reason)
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX2 aborted, balance still 1000", all(inState("TX2", "ABORTED"), hasValue("balance", "1000")))
	}
	expectCoord(t, c, "TX2 aborted, both members ABORTED", coordTx("TX2", "ABORTED", both("ABORTED")))

	out, r = c.StartTx("TX3", "3PC", "B:ADD", "balance", "-100", "C:ADD", "balance", "100")
	wantOutcome(t, out, r, 0, "COMMITTED")
	waitPart(t, c, "B", "TX3 committed, 900", all(inState("TX3", "COMMITTED"), hasValue("balance", "900")))
	waitPart(t, c, "C", "TX3 committed, 1100", all(inState("TX3", "COMMITTED"), hasValue("balance", "1100")))
	waitCoord(t, c, "TX3 committed everywhere", coordTx("TX3", "COMMITTED", both("COMMITTED")))
}
