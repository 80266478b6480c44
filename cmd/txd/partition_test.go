package main

// Network partitions between real processes (cluster.Config.Proxied: a
// loopback proxy in front of every node, cmd/internal/partition): a cut
// black-holes a link, as a dead router would, without killing or pausing
// any process.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// TestPartition2PCBlackHoledMember: with COORD and C cut from each other
// both ways, a 2PC transaction that needs C aborts on the vote timeout
// (the connection stays up, so nothing says C is gone: only the timeout
// tells), B applies nothing, C never hears of it; a transaction on B alone
// commits meanwhile. Once healed, C gets the held PREPARE and ABORT, stays
// consistent, and the next transaction on C commits.
func TestPartition2PCBlackHoledMember(t *testing.T) {
	const vote = 2 * time.Second
	c := startCluster(t, cluster.Config{Proxied: true, CoordTimeout: vote})
	st := c.MustCoordStatus()
	for _, id := range []string{"B", "C"} {
		if p, ok := st.Peer(id); !ok || p.Addr != c.ProxyAddr(id) {
			t.Fatalf("the coordinator reaches %s at %+v, not through its proxy %s", id, p, c.ProxyAddr(id))
		}
	}
	commit(t, c, "UP1", "SET", "k", "1")

	c.Isolate("COORD", "C")
	out, r := c.StartTx("CUT1", "2PC", "SET", "k", "2")
	wantOutcome(t, out, r, 1, "ABORTED")
	if !strings.Contains(out.Reason, "no vote from C") {
		t.Errorf("CUT1 aborted for %q, want the vote timeout on C", out.Reason)
	}
	if r.Elapsed < vote*9/10 {
		t.Errorf("CUT1 aborted after %v, before the vote timeout of %v: the cut looked like a refused connection", r.Elapsed, vote)
	}
	t.Logf("CUT1 aborted after %v (vote timeout %v): %s", r.Elapsed.Round(time.Millisecond), vote, out.Reason)
	out, r = c.StartTx("B-ONLY", "2PC", "B:SET", "k", "3")
	wantOutcome(t, out, r, 0, "COMMITTED")
	waitPart(t, c, "B", "CUT1 aborted, B-ONLY applied", all(inState("CUT1", "ABORTED"), hasValue("k", "3")))
	if err := eachPart(c, []string{"C"}, all(inState("CUT1", ""), hasValue("k", "1")))(); err != nil {
		t.Fatalf("C heard of CUT1 through the cut: %v", err)
	}

	c.HealAll()
	out, r = c.StartTx("AFTER", "2PC", "C:SET", "k", "4")
	wantOutcome(t, out, r, 0, "COMMITTED")
	waitPart(t, c, "C", "AFTER applied, CUT1 never", all(hasValue("k", "4"), func(p cluster.ParticipantOut) error {
		if s := p.TxState("CUT1"); s != "" && s != "ABORTED" {
			return fmt.Errorf("CUT1 is %s on C", s)
		}
		return nil
	}))
}

// TestPartitionEveryRouteProxied: every way one node reaches another goes
// through a proxy, so that a cut can stop it. The coordinator is killed
// after deciding a 2PC COMMIT (in its --delay before sending it); the
// participants, in doubt, dial the coordinator at the address PREPARE gave
// them (its --advertise) and then one another at the member addresses: all
// of them proxies. The restarted coordinator finishes the transaction.
func TestPartitionEveryRouteProxied(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", Proxied: true, CoordDelay: killWindow, PartTimeout: termTimeout})
	out, r := c.StartTx("ROUTE", "2PC", "ADD", "balance", "10")
	wantOutcome(t, out, r, 0, "COMMITTED")
	kill9(t, c.Coord)
	inPhaseTwoDelay(t, c, "ROUTE", killWindow, time.Now())

	dialed := func(from, to string) int { return c.Net.Proxy(to).Dialed(from) }
	cluster.Eventually(t, waitTimeout, "the participants dial the coordinator and each other through the proxies", func() error {
		for _, id := range []string{"B", "C"} {
			if dialed(id, "COORD") == 0 {
				return fmt.Errorf("no connection from %s through the coordinator's proxy", id)
			}
		}
		// The first of them to ask dials; the other answers and asks on
		// that connection.
		if dialed("B", "C")+dialed("C", "B") == 0 {
			return fmt.Errorf("no connection between B and C through their proxies")
		}
		return nil
	})
	c.Coord.DelFlag("delay")
	c.StartCoord()
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "ROUTE committed after the coordinator's restart", all(inState("ROUTE", "COMMITTED"), hasValue("balance", "10")))
	}
}

// TestPartitionOneWay: a cut in one direction only. With C unable to
// reach COORD (COORD still reaches C), C gets PREPARE but its YES vote is
// held: the transaction aborts on the vote timeout and C, which does hear
// the ABORT, aborts too, without any heal.
func TestPartitionOneWay(t *testing.T) {
	const vote = 2 * time.Second
	c := startCluster(t, cluster.Config{Proxied: true, CoordTimeout: vote})
	c.Cut("C", "COORD")
	out, r := c.StartTx("ONEWAY", "2PC", "SET", "k", "1")
	wantOutcome(t, out, r, 1, "ABORTED")
	if !strings.Contains(out.Reason, "no vote from C") {
		t.Errorf("ONEWAY aborted for %q, want the vote timeout on C", out.Reason)
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "ONEWAY aborted, nothing applied", all(inState("ONEWAY", "ABORTED"), emptyStore))
	}
}

// TestPartition3PCDiverges: 3PC is not safe under partitions
// (docs/protocols.md), shown with real processes. Both members vote YES;
// in the coordinator's --delay before PRE-COMMIT the network splits into
// {COORD, B} and {C}. The coordinator's side pre-commits B, times out on
// C's ack and commits; C, alone and READY, runs the termination protocol,
// which takes the silent others for crashed, and aborts. The client hears
// COMMITTED, B applies the transaction and C does not, and healing the
// network does not bring them together: the coordinator, hearing C again,
// reports the violation.
func TestPartition3PCDiverges(t *testing.T) {
	const d = termDelay
	c := startCluster(t, cluster.Config{Proxied: true, CoordDelay: d, PartTimeout: termTimeout})
	launched := time.Now()
	ch := startAsync(c, "SPLIT", "3PC", "ADD", "balance", "10")
	beforePreCommit(t, c, launched, d, "SPLIT")
	c.Partition([]string{"COORD", "B"}, []string{"C"})
	if since := time.Since(launched); since >= d {
		t.Fatalf("partitioned %v after the start, after the coordinator's --delay of %v: PRE-COMMIT may have reached C; the machine is too slow for the scenario", since, d)
	}

	res := awaitStart(t, ch)
	wantOutcome(t, res.out, res.r, 0, "COMMITTED")
	committed := all(inState("SPLIT", "COMMITTED"), hasValue("balance", "10"))
	aborted := all(inState("SPLIT", "ABORTED"), hasValue("balance", ""), reasonHas("SPLIT", "termination protocol"))
	waitPart(t, c, "B", "SPLIT committed on the coordinator's side", committed)
	waitPart(t, c, "C", "SPLIT aborted alone by the termination protocol", aborted)
	for _, id := range []string{"B", "C"} {
		tx, _ := c.MustPartStatus(id).Tx("SPLIT")
		t.Logf("%s: SPLIT %s: %s", id, tx.State, tx.Reason)
	}

	c.HealAll()
	cluster.Eventually(t, waitTimeout, "the coordinator reports C's outcome as a violation", func() error {
		if len(c.Coord.LogLines(`msg="atomicity violated`, " tx=SPLIT ", " participant=C ")) == 0 {
			return fmt.Errorf("no \"atomicity violated ... tx=SPLIT participant=C\" line in its log")
		}
		return nil
	})
	cluster.Consistently(t, 4*termTimeout, "B committed and C aborted, also once healed", func() error {
		if err := eachPart(c, []string{"B"}, committed)(); err != nil {
			return err
		}
		return eachPart(c, []string{"C"}, aborted)()
	})
}
