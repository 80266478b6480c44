package main

// A participant killed in 2PC, on real processes (conventions:
// helpers_test.go): while READY, and down at PREPARE.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// A participant dies (kill -9) while READY, and the COMMIT sent to it
// fails; restarted on its WAL, it replays READY, learns COMMIT and applies
// the ADD exactly once.
func TestParticipantCrashWhileReady(t *testing.T) {
	const delay = 1500 * time.Millisecond
	c := startCluster(t, cluster.Config{CoordDelay: delay})
	b := c.Part("B")

	out, r := c.StartTx("TX1", "2PC", "ADD", "balance", "10") // missing key: 0 + 10
	answered := time.Now()
	wantOutcome(t, out, r, 0, "COMMITTED")
	kill9(t, b)
	if d := time.Since(answered); d >= delay {
		t.Fatalf("B was killed %v after the answer, after the --delay window of %v: the scenario did not happen", d, delay)
	}

	// Phase two: C commits, B cannot be reached and stays READY in the
	// coordinator's eyes.
	waitPart(t, c, "C", "TX1 committed", all(inState("TX1", "COMMITTED"), hasValue("balance", "10")))
	// C has acked (it is COMMITTED and its ack is on the way): the
	// coordinator's status should say so.
	expectCoord(t, c, "status shows C's ack while B's is missing",
		coordTx("TX1", "COMMITTED", map[string]string{"B": "READY", "C": "COMMITTED"}))
	cluster.Consistently(t, 700*time.Millisecond, "coordinator keeps failing to deliver COMMIT to B", func() error {
		st, err := c.CoordStatus()
		if err != nil {
			return err
		}
		if p, _ := st.Peer("B"); p.Connected {
			return errors.New("coordinator reports a connection to the dead B")
		}
		return coordTx("TX1", "COMMITTED", map[string]string{"B": "READY"})(st)
	})

	restart(t, b)
	if lines := b.LogLines("wal replayed", "in_doubt=1"); len(lines) == 0 {
		t.Errorf("B's restart did not replay TX1 as in doubt (no \"wal replayed ... in_doubt=1\" line)")
	}
	applied := all(inState("TX1", "COMMITTED"), hasValue("balance", "10"))
	waitPart(t, c, "B", "TX1 committed after restart, ADD applied once", applied)
	waitCoord(t, c, "TX1 committed everywhere", coordTx("TX1", "COMMITTED", both("COMMITTED")))

	// Replaying PREPARED + COMMIT again must not apply the ADD twice.
	kill9(t, b)
	restart(t, b)
	waitPart(t, c, "B", "still applied once after a second restart", applied)
	waitPart(t, c, "C", "applied once", applied)
}

// A participant is down at PREPARE: the coordinator aborts, naming it
// (at once, as it is known unreachable: TestUnreachableMemberAbortsAtOnce);
// the other participant's lock is released; the restarted participant is
// consistent.
func TestParticipantDownAtPrepare(t *testing.T) {
	const timeout = time.Second
	c := startCluster(t, cluster.Config{CoordTimeout: timeout})
	kill9(t, c.Part("C"))

	out, r := c.StartTx("TX1", "2PC", "SET", "k", "v1")
	wantOutcome(t, out, r, 1, "ABORTED")
	if !strings.Contains(out.Reason, "participant C unreachable") && !strings.Contains(out.Reason, "no vote from C") {
		t.Errorf("reason %q does not name C as unreachable or as the missing vote", out.Reason)
	}
	waitPart(t, c, "B", "TX1 aborted", all(inState("TX1", "ABORTED"), hasValue("k", "")))

	// B's key is not locked.
	commit(t, c, "TX2", "B:SET", "k", "v2")
	waitPart(t, c, "B", "TX2 committed", all(inState("TX2", "COMMITTED"), hasValue("k", "v2")))

	restart(t, c.Part("C"))
	c.WaitConnected("B", "C")
	waitPart(t, c, "C", "nothing of TX1 applied", func(p cluster.ParticipantOut) error {
		if s := p.TxState("TX1"); s != "" && s != "ABORTED" {
			return fmt.Errorf("TX1 is %s, want ABORTED or unknown (presumed abort)", s)
		}
		return hasValue("k", "")(p)
	})
	waitCoord(t, c, "TX1 aborted, TX2 committed", func(st cluster.CoordOut) error {
		if err := coordTx("TX1", "ABORTED", both("ABORTED"))(st); err != nil {
			return err
		}
		return coordTx("TX2", "COMMITTED", map[string]string{"B": "COMMITTED"})(st)
	})

	// The whole cluster works again.
	commit(t, c, "TX3", "SET", "k", "v3")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX3 committed", all(inState("TX3", "COMMITTED"), hasValue("k", "v3")))
	}
}
