package main

// Integration tests: real txd and txcli binaries (built once per test
// binary by cluster.Shared), real processes on 127.0.0.1 with free ports,
// WALs under t.TempDir(), kill -9 as a real SIGKILL. Every wait polls with
// a deadline. Skipped with -short.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.RemoveShared()
	// Every process and connection a test started is gone: no goroutine
	// of the harness (readers, clients, pollers) may outlive the tests.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitTimeout bounds every Eventually: generous, since a healthy cluster
// gets there in milliseconds and only a broken one waits it out.
const waitTimeout = 10 * time.Second

// startCluster skips under -short, runs the test in parallel with the
// others and starts a cluster (participants B and C unless cfg says
// otherwise).
func startCluster(t *testing.T, cfg cluster.Config) *cluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	return cluster.Start(t, cluster.Shared(t), cfg)
}

// wantOutcome checks a start's exit code and JSON outcome.
func wantOutcome(t *testing.T, out cluster.StartOut, r cluster.Result, code int, outcome string) {
	t.Helper()
	if r.Code != code || out.Outcome != outcome {
		t.Fatalf("want exit %d and outcome %s; got %v", code, outcome, r)
	}
}

// commit runs a transaction that must commit.
func commit(t *testing.T, c *cluster.Cluster, txid string, ops ...string) {
	t.Helper()
	out, r := c.StartTx(txid, "2PC", ops...)
	wantOutcome(t, out, r, 0, "COMMITTED")
}

// waitPart polls participant id's status until cond accepts it.
func waitPart(t *testing.T, c *cluster.Cluster, id, what string, cond func(cluster.ParticipantOut) error) {
	t.Helper()
	cluster.Eventually(t, waitTimeout, id+": "+what, func() error {
		st, err := c.PartStatus(id)
		if err != nil {
			return err
		}
		if err := cond(st); err != nil {
			return fmt.Errorf("%w (status: store %v, transactions %+v)", err, st.Store, st.Transactions)
		}
		return nil
	})
}

// waitCoord polls the coordinator's status until cond accepts it.
func waitCoord(t *testing.T, c *cluster.Cluster, what string, cond func(cluster.CoordOut) error) {
	t.Helper()
	cluster.Eventually(t, waitTimeout, "coordinator: "+what, func() error {
		st, err := c.CoordStatus()
		if err != nil {
			return err
		}
		if err := cond(st); err != nil {
			return fmt.Errorf("%w (transactions %+v)", err, st.Transactions)
		}
		return nil
	})
}

// expectCoord is waitCoord reporting a timeout without ending the test.
func expectCoord(t *testing.T, c *cluster.Cluster, what string, cond func(cluster.CoordOut) error) {
	t.Helper()
	cluster.Expect(t, 3*time.Second, "coordinator: "+what, func() error {
		st, err := c.CoordStatus()
		if err != nil {
			return err
		}
		if err := cond(st); err != nil {
			return fmt.Errorf("%w (transactions %+v)", err, st.Transactions)
		}
		return nil
	})
}

// all combines participant conditions.
func all(conds ...func(cluster.ParticipantOut) error) func(cluster.ParticipantOut) error {
	return func(p cluster.ParticipantOut) error {
		for _, c := range conds {
			if err := c(p); err != nil {
				return err
			}
		}
		return nil
	}
}

// hasValue: key holds want; want "" means the key is absent.
func hasValue(key, want string) func(cluster.ParticipantOut) error {
	return func(p cluster.ParticipantOut) error {
		got, ok := p.Store[key]
		switch {
		case want == "" && ok:
			return fmt.Errorf("%s = %q, want it absent", key, got)
		case want != "" && got != want:
			return fmt.Errorf("%s = %q, want %q", key, got, want)
		}
		return nil
	}
}

// inState: transaction txid is in state want; want "" means not listed.
func inState(txid, want string) func(cluster.ParticipantOut) error {
	return func(p cluster.ParticipantOut) error {
		if got := p.TxState(txid); got != want {
			return fmt.Errorf("%s is %q, want %q", txid, got, want)
		}
		return nil
	}
}

// coordTx: the coordinator shows txid in state and each listed member in
// its state.
func coordTx(txid, state string, members map[string]string) func(cluster.CoordOut) error {
	return func(st cluster.CoordOut) error {
		tx, ok := st.Tx(txid)
		if !ok {
			return fmt.Errorf("%s not listed", txid)
		}
		if tx.State != state {
			return fmt.Errorf("%s is %s, want %s", txid, tx.State, state)
		}
		for id, want := range members {
			if got := tx.Participants[id]; got != want {
				return fmt.Errorf("%s: member %s is %q, want %q (all: %v)", txid, id, got, want, tx.Participants)
			}
		}
		return nil
	}
}

// both is {B: s, C: s}.
func both(s string) map[string]string { return map[string]string{"B": s, "C": s} }

// kill9 kills a node with SIGKILL.
func kill9(t *testing.T, n *cluster.Node) {
	t.Helper()
	pid := n.Pid()
	if err := n.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill -9 %s %s (pid %d)", n.Role, n.ID, pid)
}

// restart starts a killed participant again on its WAL and port.
func restart(t *testing.T, n *cluster.Node) {
	t.Helper()
	if err := n.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted %s %s (pid %d)", n.Role, n.ID, n.Pid())
}

// 1. Seed scenario 1: a plain commit on both participants.
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

// 2+3. Seed scenarios 2 and 3: the coordinator dies (kill -9) after its
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

// 3. The coordinator dies (kill -9) before any decision: it is waiting for
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

// 4. A participant votes NO because the result would be negative: the
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

// 5. A transfer between participants.
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

// 6. A participant dies (kill -9) while READY, and the COMMIT sent to it
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

// 7. A participant is down at PREPARE: the coordinator aborts, naming it
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

// dial connects a wire client to the coordinator.
func dial(t *testing.T, c *cluster.Cluster) *transport.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := transport.DialClient(ctx, c.Coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// 8. Concurrent transactions on different keys all commit: 50 at once on
// one wire client, and 10 txcli processes at once.
func TestConcurrentDifferentKeys(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordTimeout: 5 * time.Second})
	cl := dial(t, c)

	const n = 50
	results := make([]*wire.StartResult, n)
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ops := []wire.Op{{Kind: wire.OpSet, Key: fmt.Sprintf("key%02d", i), Value: fmt.Sprintf("val%02d", i)}}
			results[i], errs[i] = cl.Start(ctx, fmt.Sprintf("W%02d", i), wire.TwoPC, ops)
		})
	}
	const procs = 10
	cli := make([]cluster.Result, procs)
	cliOut := make([]cluster.StartOut, procs)
	cliErr := make([]error, procs)
	for i := range procs {
		wg.Go(func() {
			cliOut[i], cli[i], cliErr[i] = c.Bins.StartTx(ctx, c.Coord.Addr(), fmt.Sprintf("P%02d", i), "2PC",
				"SET", fmt.Sprintf("pkey%02d", i), strconv.Itoa(i))
		})
	}
	wg.Wait()
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("W%02d: %v", i, errs[i])
		case results[i].Outcome != wire.StateCommitted:
			t.Errorf("W%02d: %s (%s)", i, results[i].Outcome, results[i].Reason)
		}
	}
	for i := range procs {
		if cliErr[i] != nil {
			t.Errorf("P%02d: %v", i, cliErr[i])
		} else if cli[i].Code != 0 || cliOut[i].Outcome != "COMMITTED" {
			t.Errorf("P%02d: %v", i, cli[i])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "every transaction committed, every value present", func(p cluster.ParticipantOut) error {
			for i := range n {
				if err := all(inState(fmt.Sprintf("W%02d", i), "COMMITTED"), hasValue(fmt.Sprintf("key%02d", i), fmt.Sprintf("val%02d", i)))(p); err != nil {
					return err
				}
			}
			for i := range procs {
				if err := all(inState(fmt.Sprintf("P%02d", i), "COMMITTED"), hasValue(fmt.Sprintf("pkey%02d", i), strconv.Itoa(i)))(p); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// 9. Concurrent transactions on the same key conflict: the losers abort on
// the lock, and each participant's final value is the initial one plus
// exactly the committed deltas. Participants lock without waiting, so a
// round may abort every transaction (B's lock taken by one, C's by
// another): rounds repeat until at least one transaction committed.
func TestConflictingSameKey(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordTimeout: 5 * time.Second})
	commit(t, c, "T0", "SET", "balance", "1000")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "balance 1000", hasValue("balance", "1000"))
	}
	cl := dial(t, c)

	const perRound, maxRounds = 20, 5
	want := int64(1000)
	var committed, aborted []string
	for round := 0; round < maxRounds && len(committed) == 0; round++ {
		delta := func(i int) int64 { return int64(100*round + i + 1) }
		results := make([]*wire.StartResult, perRound)
		errs := make([]error, perRound)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var wg sync.WaitGroup
		for i := range perRound {
			wg.Go(func() {
				ops := []wire.Op{{Kind: wire.OpAdd, Key: "balance", Delta: delta(i)}}
				results[i], errs[i] = cl.Start(ctx, fmt.Sprintf("X%d-%02d", round, i), wire.TwoPC, ops)
			})
		}
		wg.Wait()
		cancel()

		n := len(committed)
		for i := range perRound {
			id := fmt.Sprintf("X%d-%02d", round, i)
			switch {
			case errs[i] != nil:
				t.Fatalf("%s: %v", id, errs[i])
			case results[i].Outcome == wire.StateCommitted:
				committed = append(committed, id)
				want += delta(i)
			case results[i].Outcome == wire.StateAborted:
				aborted = append(aborted, id)
				if !strings.Contains(results[i].Reason, "locked") {
					t.Errorf("%s aborted for a reason other than the lock: %q", id, results[i].Reason)
				}
			default:
				t.Fatalf("%s: outcome %q", id, results[i].Outcome)
			}
		}
		t.Logf("round %d: %d of %d committed", round, len(committed)-n, perRound)

		for _, id := range []string{"B", "C"} {
			waitPart(t, c, id, fmt.Sprintf("balance %d = 1000 + the committed deltas", want), func(p cluster.ParticipantOut) error {
				for _, tx := range p.Transactions {
					if tx.State != "COMMITTED" && tx.State != "ABORTED" {
						return fmt.Errorf("%s still %s", tx.ID, tx.State)
					}
				}
				for _, x := range committed {
					if s := p.TxState(x); s != "COMMITTED" {
						return fmt.Errorf("%s committed at the coordinator but is %q here", x, s)
					}
				}
				for _, x := range aborted {
					if s := p.TxState(x); s == "COMMITTED" {
						return fmt.Errorf("%s aborted at the coordinator but committed here", x)
					}
				}
				return hasValue("balance", strconv.FormatInt(want, 10))(p)
			})
		}
	}
	if len(committed) == 0 {
		t.Fatalf("no transaction committed in %d rounds of %d", maxRounds, perRound)
	}
	t.Logf("committed %v; %d aborted", committed, len(aborted))
}

// 10. Starting a known transaction id returns its recorded outcome and
// never runs it again, also after a coordinator crash and restart.
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
		// The same transaction again, and TX1's id with other operations:
		// a known id returns its outcome and runs nothing.
		for _, ops := range [][]string{{"ADD", "balance", "10"}, {"ADD", "balance", "5000"}} {
			out, r := c.StartTx("TX1", "2PC", ops...)
			wantOutcome(t, out, r, 0, "COMMITTED")
		}
		out, r := c.StartTx("TX2", "2PC", "ADD", "balance", "-1000")
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

// 11. txcli's argument errors and an unreachable coordinator exit 2 with a
// message, and run nothing.
func TestTxcliErrors(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	down, err := cluster.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	coord := c.Coord.Addr()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown protocol", []string{"--coord", coord, "start", "E1", "4PC", "SET", "k", "v"}, `unknown protocol "4PC"`},
		{"unknown operation", []string{"--coord", coord, "start", "E2", "2PC", "MUL", "k", "2"}, `unknown operation "MUL"`},
		{"bad number", []string{"--coord", coord, "start", "E3", "2PC", "B:ADD", "balance", "ten"}, `delta "ten" is not a 64-bit integer`},
		{"missing operations", []string{"--coord", coord, "start", "E4", "2PC"}, "missing operations"},
		{"unknown participant", []string{"--coord", coord, "start", "E6", "2PC", "X:SET", "k", "v"}, `unknown participant "X"`},
		{"coordinator unreachable", []string{"--timeout", "5s", "--coord", down, "start", "E7", "2PC", "SET", "k", "v"}, "cannot reach coordinator at " + down},
		{"coordinator unreachable, status", []string{"--timeout", "5s", "--coord", down, "status"}, "cannot reach coordinator at " + down},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Bins.Txcli(context.Background(), tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != 2 {
				t.Errorf("want exit 2; got %v", r)
			}
			if r.Stdout != "" {
				t.Errorf("stdout without --json: %q", r.Stdout)
			}
			msg := strings.TrimSpace(r.Stderr)
			if !strings.HasPrefix(msg, "txcli: ") || strings.Contains(msg, "\n") || !strings.Contains(msg, tt.want) {
				t.Errorf("want one stderr line \"txcli: ...%s...\"; got %q", tt.want, r.Stderr)
			}
		})
	}

	// With --json the unreachable coordinator is also reported on stdout.
	out, r, err := c.Bins.StartTx(context.Background(), down, "E8", "2PC", "SET", "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 2 || out.ID != "E8" || !strings.Contains(out.Error, "cannot reach coordinator") {
		t.Errorf("--json, unreachable: want exit 2 and an error in the JSON; got %v", r)
	}

	st := c.MustCoordStatus()
	if len(st.Transactions) != 0 {
		t.Errorf("the coordinator ran transactions: %+v", st.Transactions)
	}
	for _, id := range []string{"B", "C"} {
		if p := c.MustPartStatus(id); len(p.Store) != 0 || len(p.Transactions) != 0 {
			t.Errorf("%s changed: store %v, transactions %+v", id, p.Store, p.Transactions)
		}
	}
}

// frameHeader is a frame's 4-byte big-endian length.
func frameHeader(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// handshaken connects to addr and completes a client handshake, so what
// follows reaches the connection's reader rather than the handshake.
func handshaken(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: "garbage-test", Role: wire.RoleClient})
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(hello); err != nil {
		t.Fatal(err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		t.Fatalf("reading the HelloAck: %v", err)
	}
	if _, err := io.CopyN(io.Discard, nc, int64(binary.BigEndian.Uint32(hdr[:]))); err != nil {
		t.Fatalf("reading the HelloAck: %v", err)
	}
	return nc
}

// 12. Garbage on the nodes' sockets (HTTP, random bytes, absurd frame
// lengths, before and after a handshake) costs the sender its connection
// and nothing else: the nodes stay up and transactions still commit.
func TestGarbageOnSocket(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	seed := uint64(time.Now().UnixNano())
	t.Logf("random bytes seeded with %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}

	type attack struct {
		name      string
		handshake bool   // complete a client handshake first
		payload   []byte // then send this
		mustClose bool   // and the node must hang up at once
	}
	attacks := []attack{
		{"HTTP request", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), true},
		{"frame length 0x7fffffff", false, frameHeader(0x7fffffff), true},
		{"empty frame", false, frameHeader(0), true},
		{"random bytes", false, random(4096), false},
		{"frame length 0x7fffffff after handshake", true, frameHeader(0x7fffffff), true},
		{"unknown type after handshake", true, append(frameHeader(3), 0xee, 0x01, 0x02), true},
		{"random bytes after handshake", true, random(4096), false},
	}
	for _, target := range []*cluster.Node{c.Part("B"), c.Coord} {
		for _, a := range attacks {
			var nc net.Conn
			if a.handshake {
				nc = handshaken(t, target.Addr())
			} else {
				var err error
				if nc, err = net.DialTimeout("tcp", target.Addr(), 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			nc.SetDeadline(time.Now().Add(3 * time.Second))
			_, werr := nc.Write(a.payload)
			if a.mustClose {
				// The node answers at most an Error frame, then hangs up.
				_, rerr := io.Copy(io.Discard, nc)
				var ne net.Error
				if werr == nil && errors.As(rerr, &ne) && ne.Timeout() {
					t.Errorf("%s %s: %s: the connection is still open after 3s", target.Role, target.ID, a.name)
				}
			}
			nc.Close()
		}
		// A peer that connects and sends nothing is harmless too.
		idle, err := net.Dial("tcp", target.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
	}

	for _, n := range c.Nodes() {
		if !n.Running() {
			t.Fatalf("%s %s died", n.Role, n.ID)
		}
	}
	commit(t, c, "TX1", "SET", "balance", "1000")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 committed", all(inState("TX1", "COMMITTED"), hasValue("balance", "1000")))
	}
	for _, n := range c.Nodes() {
		if lines := n.LogLines("panic"); len(lines) > 0 {
			t.Errorf("%s %s logged a panic: %s", n.Role, n.ID, strings.Join(lines, "\n"))
		}
	}
}
