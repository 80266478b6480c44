package main

// Integration tests of 3PC and of termination without a coordinator, on real
// processes (see integration_test.go for the conventions): seed scenario 4;
// the coordinator kill -9ed in each of 3PC's windows, after which the
// participants decide by themselves (termination protocol) and a restarted
// coordinator reports what they decided; a participant kill -9ed in each 3PC
// state; 2PC's blocking, and its cooperative termination through a peer
// that knows the outcome. Skipped with -short.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// Timing of the crash tests. termTimeout is the participants' --timeout:
// short, so that termination is quick, yet long enough for a live
// coordinator to answer a query within one round on a loaded machine (a
// participant that hears nothing for a round runs the termination protocol).
// The coordinator's --delay is the window in which a test kills a node;
// every test checks that its kill came inside it. termDelay is for tests
// that wait a delay out; killWindow, longer for free, for those that kill
// the coordinator in its first delay and never wait it out.
const (
	termTimeout = 500 * time.Millisecond
	termDelay   = 2 * time.Second
	killWindow  = 4 * time.Second
)

// termBound is how long after the coordinator's death the participants may
// take to decide by themselves: about three --timeouts (ask the
// coordinator; it is silent, so ask the peers too; still silent: decide)
// plus generous slack for forced writes and a loaded machine. Past it they
// are blocked, not slow.
const termBound = 3*termTimeout + 2*time.Second

// started is what a txcli start run in the background returned.
type started struct {
	out cluster.StartOut
	r   cluster.Result
	err error
}

// startAsync runs "txcli start" in the background: for a transaction whose
// coordinator is killed before it answers.
func startAsync(c *cluster.Cluster, txid, proto string, ops ...string) <-chan started {
	ch := make(chan started, 1)
	addr := c.Coord.Addr()
	go func() {
		out, r, err := c.Bins.StartTx(context.Background(), addr, txid, proto, ops...)
		ch <- started{out, r, err}
	}()
	return ch
}

// awaitStart waits for a background start to return.
func awaitStart(t *testing.T, ch <-chan started) started {
	t.Helper()
	select {
	case s := <-ch:
		if s.err != nil {
			t.Fatal(s.err)
		}
		return s
	case <-time.After(waitTimeout):
		t.Fatal("txcli start did not return")
	}
	return started{}
}

// wantUnknown checks the answer of a client whose coordinator died before
// deciding: exit 2, outcome UNKNOWN.
func wantUnknown(t *testing.T, s started) {
	t.Helper()
	if s.r.Code != 2 || s.out.Outcome != "UNKNOWN" {
		t.Errorf("client of the killed coordinator: want exit 2, outcome UNKNOWN; got %v", s.r)
	}
}

// eachPart checks cond on the status of every participant in ids: for
// Consistently.
func eachPart(c *cluster.Cluster, ids []string, cond func(cluster.ParticipantOut) error) func() error {
	return func() error {
		for _, id := range ids {
			st, err := c.PartStatus(id)
			if err != nil {
				return err
			}
			if err := cond(st); err != nil {
				return fmt.Errorf("%s: %w (store %v, transactions %+v)", id, err, st.Store, st.Transactions)
			}
		}
		return nil
	}
}

// emptyStore: the participant's store holds nothing.
func emptyStore(p cluster.ParticipantOut) error {
	if len(p.Store) != 0 {
		return fmt.Errorf("store %v, want it empty", p.Store)
	}
	return nil
}

// reasonHas: txid's reason on the participant contains sub.
func reasonHas(txid, sub string) func(cluster.ParticipantOut) error {
	return func(p cluster.ParticipantOut) error {
		tx, ok := p.Tx(txid)
		if !ok {
			return fmt.Errorf("%s not listed", txid)
		}
		if !strings.Contains(tx.Reason, sub) {
			return fmt.Errorf("%s: reason %q does not contain %q", txid, tx.Reason, sub)
		}
		return nil
	}
}

// decidedByPeer: txid's outcome came from peer, either because we asked it
// ("learned from B") or because it led the termination protocol and told
// every member ("led by B"). Either way the restarted participant did not
// decide alone while its peer was up.
func decidedByPeer(txid, peer string) func(cluster.ParticipantOut) error {
	return func(p cluster.ParticipantOut) error {
		tx, ok := p.Tx(txid)
		if !ok {
			return fmt.Errorf("%s not listed", txid)
		}
		if !strings.Contains(tx.Reason, "learned from "+peer) && !strings.Contains(tx.Reason, "led by "+peer) {
			return fmt.Errorf("%s: reason %q: not decided by %s", txid, tx.Reason, peer)
		}
		return nil
	}
}

// notTerminated: txid was not decided by the termination protocol (so, with
// the coordinator alive, it was the coordinator's decision).
func notTerminated(txid string) func(cluster.ParticipantOut) error {
	return func(p cluster.ParticipantOut) error {
		if tx, _ := p.Tx(txid); strings.Contains(tx.Reason, "termination protocol") {
			return fmt.Errorf("%s %s by the termination protocol although the coordinator is alive (reason %q)", txid, tx.State, tx.Reason)
		}
		return nil
	}
}

// waitOutcome polls the participants ids until each shows txid in state
// want, and returns how long after since the last of them was first seen
// so (to within a poll). A participant that reaches the other outcome fails
// the test at once.
func waitOutcome(t *testing.T, c *cluster.Cluster, since time.Time, txid, want string, ids ...string) time.Duration {
	t.Helper()
	seen := map[string]time.Duration{}
	var last time.Duration
	var wrong error
	err := cluster.Poll(context.Background(), waitTimeout, func() error {
		for _, id := range ids {
			if _, ok := seen[id]; ok {
				continue
			}
			st, err := c.PartStatus(id)
			if err != nil {
				return err
			}
			tx, _ := st.Tx(txid)
			switch {
			case tx.State == want:
				seen[id] = time.Since(since)
				last = max(last, seen[id])
			case tx.State == "COMMITTED" || tx.State == "ABORTED":
				wrong = fmt.Errorf("%s: %s is %s (reason %q), want %s", id, txid, tx.State, tx.Reason, want)
				return nil
			default:
				return fmt.Errorf("%s: %s is %q, want %s", id, txid, tx.State, want)
			}
		}
		return nil
	})
	if wrong != nil {
		t.Fatal(wrong)
	}
	if err != nil {
		t.Fatalf("%v reaching %s %s: %v", ids, txid, want, err)
	}
	t.Logf("%v: %s %s within %v (each: %v)", ids, txid, want, last.Round(time.Millisecond), seen)
	return last
}

// inPhaseTwoDelay checks that a node killed at killed died before the
// coordinator, which runs with --delay d, sent phase two of txid (COMMIT,
// or 3PC's DO-COMMIT): that delay begins when the coordinator logs
// "transaction decided" (just after the decision is durable, as it answers
// the client), and the client's own answer may reach the test much later
// on a loaded machine, so the coordinator's log is the clock. A kill too
// late means the scenario did not happen: the test stops.
func inPhaseTwoDelay(t *testing.T, c *cluster.Cluster, txid string, d time.Duration, killed time.Time) {
	t.Helper()
	lines := c.Coord.LogLines(`msg="transaction decided"`, " tx="+txid+" ")
	if len(lines) == 0 {
		t.Fatalf("the coordinator's log has no \"transaction decided ... tx=%s\" line (is its --log-level above info?)", txid)
	}
	stamp, _, _ := strings.Cut(strings.TrimPrefix(lines[len(lines)-1], "time="), " ")
	decided, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		t.Fatalf("the coordinator's log line %q: %v", lines[len(lines)-1], err)
	}
	if late := killed.Sub(decided); late >= d-50*time.Millisecond {
		t.Fatalf("the kill came %v after the coordinator decided %s, too near the end of its --delay of %v: phase two may have gone out; the machine is too slow for the scenario", late, txid, d)
	}
}

// beforePreCommit waits until the coordinator has logged PRE-COMMIT for
// txid (its status says PRECOMMITTED) with both members READY, and both
// participants say READY: the coordinator is in its --delay d before
// sending PRE-COMMIT, which began after launched. Not getting there within
// d of launched means the scenario cannot happen: the test stops.
func beforePreCommit(t *testing.T, c *cluster.Cluster, launched time.Time, d time.Duration, txid string) {
	t.Helper()
	err := cluster.Poll(context.Background(), d-time.Since(launched), func() error {
		st, err := c.CoordStatus()
		if err != nil {
			return err
		}
		if err := coordTx(txid, "PRECOMMITTED", both("READY"))(st); err != nil {
			return fmt.Errorf("coordinator: %w", err)
		}
		return eachPart(c, []string{"B", "C"}, inState(txid, "READY"))()
	})
	if err != nil {
		t.Fatalf("%s: PRE-COMMIT logged with both members READY, within the coordinator's --delay of %v: %v; the machine is too slow for the scenario", txid, d, err)
	}
	t.Logf("%s: PRE-COMMIT logged, not sent; B and C READY (%v after the start)", txid, time.Since(launched).Round(time.Millisecond))
}

// killCoordWhileReady starts txid (3PC) through c's coordinator, which runs
// with --delay d, and kill -9s the coordinator in the delay before
// PRE-COMMIT: it has logged PRE-COMMIT (its status says PRECOMMITTED) but
// both participants are READY. The client, never answered, says UNKNOWN.
// It returns the time of the kill.
func killCoordWhileReady(t *testing.T, c *cluster.Cluster, d time.Duration, txid string, ops ...string) time.Time {
	t.Helper()
	launched := time.Now()
	ch := startAsync(c, txid, "3PC", ops...)
	beforePreCommit(t, c, launched, d, txid)
	kill9(t, c.Coord)
	killed := time.Now()
	// The delay began after the launch: a kill within d of it is inside.
	if since := killed.Sub(launched); since >= d {
		t.Fatalf("the coordinator was killed %v after the start, after its --delay of %v: PRE-COMMIT may have gone out", since, d)
	}
	wantUnknown(t, awaitStart(t, ch))
	return killed
}

// killCoordWhilePrecommitted starts txid (3PC) through c's coordinator,
// which runs with --delay d, and kill -9s the coordinator in the delay
// before DO-COMMIT: the decision is durable and the client told COMMITTED,
// both participants are PRECOMMITTED. It returns the time of the kill.
func killCoordWhilePrecommitted(t *testing.T, c *cluster.Cluster, d time.Duration, txid string, ops ...string) time.Time {
	t.Helper()
	out, r := c.StartTx(txid, "3PC", ops...)
	wantOutcome(t, out, r, 0, "COMMITTED")
	if r.Elapsed < d*9/10 {
		t.Errorf("3PC commit answered after %v, before the --delay of %v that precedes PRE-COMMIT", r.Elapsed, d)
	}
	wantPrecommitted(t, c, txid, d)
	kill9(t, c.Coord)
	killed := time.Now()
	inPhaseTwoDelay(t, c, txid, d, killed)
	return killed
}

// wantPrecommitted checks, in the coordinator's --delay d before DO-COMMIT,
// that it decided COMMIT and both members acknowledged PRE-COMMIT (which
// they do once it is durable on their side): they are PRECOMMITTED. One
// status request: the window is short.
func wantPrecommitted(t *testing.T, c *cluster.Cluster, txid string, d time.Duration) {
	t.Helper()
	st := c.MustCoordStatus()
	if err := coordTx(txid, "COMMITTED", both("PRECOMMITTED"))(st); err != nil {
		inPhaseTwoDelay(t, c, txid, d, time.Now()) // too slow, or
		t.Fatalf("coordinator, before DO-COMMIT: %v", err)
	}
}

// wantTerminated checks that the participants decided txid by themselves,
// within termBound of the coordinator's kill: one of them led the
// termination protocol, and each either led it or took the outcome from
// the other (its leader's announcement, or its answer to a query).
func wantTerminated(t *testing.T, c *cluster.Cluster, txid string, took time.Duration) {
	t.Helper()
	if c.Coord.Running() {
		t.Fatal("the coordinator is running: the participants did not decide alone")
	}
	led := false
	for _, id := range []string{"B", "C"} {
		tx, _ := c.MustPartStatus(id).Tx(txid)
		t.Logf("%s: %s %s: %s", id, txid, tx.State, tx.Reason)
		switch {
		case strings.Contains(tx.Reason, "termination protocol"):
			led = true
		case strings.Contains(tx.Reason, "learned from "):
		default:
			t.Errorf("%s: %s %s for a reason that is neither the termination protocol nor a peer: %q", id, txid, tx.State, tx.Reason)
		}
	}
	if !led {
		t.Errorf("nobody says it decided %s by the termination protocol", txid)
	}
	if took > termBound {
		t.Errorf("the participants decided %v after the coordinator died; want about 2 x --timeout %v (bound %v)", took, termTimeout, termBound)
	}
}

// 1. Seed scenario 4: a standard 3PC commit.
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

// 2. The coordinator dies (kill -9) with both participants READY, before
// PRE-COMMIT: they abort by themselves (all READY → abort), nothing is
// applied, and the key is free once a coordinator is back.
func Test3PCTerminationAbortWhenAllReady(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordDelay: killWindow, PartTimeout: termTimeout})
	parts := []string{"B", "C"}

	killed := killCoordWhileReady(t, c, killWindow, "TX1", "ADD", "balance", "100")
	took := waitOutcome(t, c, killed, "TX1", "ABORTED", parts...)
	t.Logf("3PC, coordinator killed with both READY: both ABORTED %v after the kill, no coordinator (participant --timeout %v)",
		took.Round(time.Millisecond), termTimeout)
	wantTerminated(t, c, "TX1", took)
	if err := eachPart(c, parts, emptyStore)(); err != nil {
		t.Errorf("after the abort: %v", err)
	}

	// A coordinator comes back (without the delay): it agrees, and the key
	// is not locked: a new transaction on it commits.
	c.Coord.DelFlag("delay")
	c.StartCoord()
	expectCoord(t, c, "the restarted coordinator reports TX1 ABORTED, as the participants decided",
		coordTx("TX1", "ABORTED", both("ABORTED")))
	out, r := c.StartTx("TX2", "3PC", "ADD", "balance", "5")
	wantOutcome(t, out, r, 0, "COMMITTED")
	for _, id := range parts {
		waitPart(t, c, id, "TX2 committed on the freed key, TX1 still aborted",
			all(inState("TX1", "ABORTED"), inState("TX2", "COMMITTED"), hasValue("balance", "5")))
	}
}

// 3. The coordinator dies (kill -9) with both participants PRECOMMITTED,
// before DO-COMMIT: they commit by themselves (any PRECOMMITTED → commit)
// and the ADD is applied exactly once.
func Test3PCTerminationCommitWhenPrecommitted(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordDelay: termDelay, PartTimeout: termTimeout})
	parts := []string{"B", "C"}

	killed := killCoordWhilePrecommitted(t, c, termDelay, "TX1", "ADD", "balance", "100")
	took := waitOutcome(t, c, killed, "TX1", "COMMITTED", parts...)
	t.Logf("3PC, coordinator killed with both PRECOMMITTED: both COMMITTED %v after the kill, no coordinator (participant --timeout %v)",
		took.Round(time.Millisecond), termTimeout)
	wantTerminated(t, c, "TX1", took)
	cluster.Consistently(t, 3*termTimeout, "balance 100 on both: the ADD applied once",
		eachPart(c, parts, all(inState("TX1", "COMMITTED"), hasValue("balance", "100"))))
}

// 4. After the participants decided alone in both windows, the coordinator
// restarts on its WAL and reports their outcomes (ABORTED for the
// transaction they aborted, COMMITTED for the one they committed); retried
// ids return those outcomes and apply nothing twice.
func Test3PCTerminationRestartedCoordinatorAgrees(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordDelay: killWindow, PartTimeout: termTimeout})
	parts := []string{"B", "C"}

	killed := killCoordWhileReady(t, c, killWindow, "TXA", "ADD", "balance", "1000")
	took := waitOutcome(t, c, killed, "TXA", "ABORTED", parts...)
	t.Logf("TXA (killed while READY): ABORTED %v after the kill", took.Round(time.Millisecond))

	c.Coord.SetFlag("delay", termDelay.String()) // for the second window, which is waited for
	c.StartCoord()
	killed = killCoordWhilePrecommitted(t, c, termDelay, "TXB", "ADD", "balance", "100")
	took = waitOutcome(t, c, killed, "TXB", "COMMITTED", parts...)
	t.Logf("TXB (killed while PRECOMMITTED): COMMITTED %v after the kill", took.Round(time.Millisecond))

	c.Coord.DelFlag("delay")
	c.StartCoord()
	waitCoord(t, c, "TXA ABORTED and TXB COMMITTED, as the participants decided", func(st cluster.CoordOut) error {
		if err := coordTx("TXA", "ABORTED", both("ABORTED"))(st); err != nil {
			return err
		}
		return coordTx("TXB", "COMMITTED", both("COMMITTED"))(st)
	})
	for _, id := range []string{"TXA", "TXB"} {
		tx, _ := c.MustCoordStatus().Tx(id)
		t.Logf("restarted coordinator: %s %s %q", id, tx.State, tx.Reason)
	}

	out, r := c.StartTx("TXA", "3PC", "ADD", "balance", "1000")
	wantOutcome(t, out, r, 1, "ABORTED")
	out, r = c.StartTx("TXB", "3PC", "ADD", "balance", "100")
	wantOutcome(t, out, r, 0, "COMMITTED")
	cluster.Consistently(t, 3*termTimeout, "the retries apply nothing: balance stays 100",
		eachPart(c, parts, all(inState("TXA", "ABORTED"), inState("TXB", "COMMITTED"), hasValue("balance", "100"))))
}

// 5. A participant is killed (kill -9) in each 3PC state and restarted on
// its WAL; it ends with the other participant's outcome, the ADD applied
// once. Where it matters, the coordinator dies too and the surviving
// participant decides by the termination protocol; the restarted one then
// learns the outcome from it.
func Test3PCParticipantCrashInEachState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	cfg := cluster.Config{CoordDelay: termDelay, PartTimeout: termTimeout}

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

// 6. 2PC blocks: the coordinator dies (kill -9) in its delay, after
// deciding COMMIT; both participants are READY and stay READY, however
// often they ask; the restarted coordinator delivers the COMMIT.
func Test2PCBlockingWithoutCoordinator(t *testing.T) {
	const delay = killWindow // the kill comes at once; nothing waits this out
	c := startCluster(t, cluster.Config{CoordDelay: delay, PartTimeout: termTimeout})
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

// 7. 2PC cooperative termination: C dies (kill -9) READY, B then receives
// the COMMIT, and the coordinator dies. Restarted with no coordinator
// running, C asks its peer, learns COMMITTED from B and applies it once.
func Test2PCCooperativeTermination(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordDelay: termDelay, PartTimeout: termTimeout})

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

// 8. 3PC with a NO vote (B would go negative) aborts with the reason and
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
