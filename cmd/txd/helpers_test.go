package main

// Integration tests: real txd and txcli binaries (built once per test binary
// by cluster.Shared), real processes on 127.0.0.1 with free ports, WALs
// under t.TempDir(), kill -9 as a real SIGKILL. Every wait polls with a
// deadline. Skipped with -short. This file holds TestMain and the helpers
// the scenario files share: starting a cluster, polling the nodes' status
// and conditions on it, killing and restarting nodes, clients whose
// coordinator dies, and the timing of the crash windows of the termination
// tests.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/txd/txd/cmd/internal/cluster"
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
	if len(p.Store) != 0 || p.Keys != 0 {
		return fmt.Errorf("%d keys (store %v), want it empty", p.Keys, p.Store)
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

// inPhaseTwoDelay checks that a node killed at killed died before the
// coordinator, which runs with --delay d, sent phase two of txid (COMMIT,
// or 3PC's DO-COMMIT): that delay begins when the coordinator logs
// "transaction decided" at debug level (just after the decision is durable, as it answers
// the client), and the client's own answer may reach the test much later
// on a loaded machine, so the coordinator's log is the clock. A kill too
// late means the scenario did not happen: the test stops.
func inPhaseTwoDelay(t *testing.T, c *cluster.Cluster, txid string, d time.Duration, killed time.Time) {
	t.Helper()
	lines := c.Coord.LogLines(`msg="transaction decided"`, " tx="+txid+" ")
	if len(lines) == 0 {
		t.Fatalf("the coordinator's log has no \"transaction decided ... tx=%s\" line (is its --log-level above debug?)", txid)
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
