package main

// Retrying a known transaction id on real processes (conventions:
// helpers_test.go): its recorded outcome, nothing run again, also across a
// coordinator restart.

import (
	"fmt"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// Starting a known transaction id returns its recorded outcome and
// never runs it again, also after a coordinator crash and restart; the id
// with other operations is refused, before and after the restart (its log
// keeps the request's digest; issue 16).
func TestIdempotentRetry(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	commit(t, c, "TX0", "SET", "balance", "100")
	commit(t, c, "TX1", "ADD", "balance", "10")
	out, r := c.StartTx("TX2", "2PC", "ADD", "balance", "-1000")
	wantOutcome(t, out, r, 1, "ABORTED")
	reason2 := out.Reason

	settled := func(what string) {
		t.Helper()
		for _, id := range []string{"B", "C"} {
			waitPart(t, c, id, what, all(inState("TX1", "COMMITTED"), inState("TX2", "ABORTED"), hasValue("balance", "110")))
		}
		waitCoord(t, c, what, func(st cluster.CoordOut) error {
			if err := coordTx("TX1", "COMMITTED", both("COMMITTED"))(st); err != nil {
				return err
			}
			return coordTx("TX2", "ABORTED", both("ABORTED"))(st)
		})
	}
	retry := func(when string) {
		t.Helper()
		// The same transaction again returns its outcome and runs nothing.
		out, r := c.StartTx("TX1", "2PC", "ADD", "balance", "10")
		wantOutcome(t, out, r, 0, "COMMITTED")
		// TX1's id with other operations: refused (an id is one request),
		// also by a coordinator that resumed TX1 from its log.
		out, r = c.StartTx("TX1", "2PC", "ADD", "balance", "5000")
		if r.Code != 2 || out.Code != "id_reused" || out.Outcome == "COMMITTED" {
			t.Errorf("TX1 with other operations %s: %v, want exit 2 and code id_reused", when, r)
		}
		out, r = c.StartTx("TX2", "2PC", "ADD", "balance", "-1000")
		wantOutcome(t, out, r, 1, "ABORTED")
		if out.Reason != reason2 {
			t.Errorf("retried TX2 %s: reason %q, first time %q", when, out.Reason, reason2)
		}
		cluster.Consistently(t, 500*time.Millisecond, "balance stays 110 "+when, func() error {
			for _, id := range []string{"B", "C"} {
				st, err := c.PartStatus(id)
				if err != nil {
					return err
				}
				if err := hasValue("balance", "110")(st); err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
			}
			return nil
		})
	}

	settled("TX1 applied once, TX2 aborted")
	retry("before the crash")

	kill9(t, c.Coord)
	c.StartCoord()
	retry("after the coordinator's restart")
	settled("still the same after the restart")
}
