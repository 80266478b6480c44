package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// Heuristic decisions with real processes: the coordinator dies during
// --delay after deciding COMMIT (seed scenario 2), the blocked participants
// are resolved by an operator with txcli resolve, and the coordinator comes
// back later agreeing, or, in the second test, contradicting one of them.

// resolveOut is "txcli --json resolve".
type resolveOut struct {
	ID          string `json:"id"`
	Participant string `json:"participant"`
	Requested   string `json:"requested"`
	State       string `json:"state"`
	Heuristic   bool   `json:"heuristic"`
	Applied     bool   `json:"applied"`
	Refused     bool   `json:"refused"`
	Reason      string `json:"reason"`
	Error       string `json:"error"`
	Forced      bool   `json:"forced"`
	Members     []struct {
		ID      string `json:"id"`
		Before  string `json:"before"`
		State   string `json:"state"`
		Applied bool   `json:"applied"`
	} `json:"members"`
}

// resolveTx runs "txcli --json --participant ID resolve --yes [flags] txid
// outcome" and checks its exit code.
func resolveTx(t *testing.T, c *cluster.Cluster, id, txid, outcome string, code int, flags ...string) resolveOut {
	t.Helper()
	args := append(append([]string{"--json", "--participant", c.Part(id).Addr(), "resolve", "--yes"}, flags...), txid, outcome)
	r := c.Txcli(args...)
	var out resolveOut
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || r.Code != code {
		t.Fatalf("resolve %s %s on %s: want exit %d and JSON; got %v (%v)", txid, outcome, id, code, r, err)
	}
	if code == 0 && !strings.Contains(r.Stderr, "WARNING: heuristic decision") {
		t.Errorf("resolve without the warning: %v", r)
	}
	return out
}

// blockAfterCommit runs TX1 (SET balance 1000), which commits, and kills
// the coordinator in its --delay window: B and C are left READY.
func blockAfterCommit(t *testing.T, c *cluster.Cluster, partTimeout time.Duration) {
	t.Helper()
	begun := time.Now()
	out, r := c.StartTx("TX1", "2PC", "SET", "balance", "1000")
	wantOutcome(t, out, r, 0, "COMMITTED")
	kill9(t, c.Coord)
	if d := time.Since(begun); d >= partTimeout {
		t.Fatalf("the coordinator was killed %v after the start, after the participants' first query (--timeout %v): too slow for the scenario", d, partTimeout)
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 READY, store unchanged", all(inState("TX1", "READY"), hasValue("balance", "")))
	}
}

// heuristicTx: txid is in state want on the participant, marked heuristic,
// with or without damage.
func heuristicTx(txid, want string, damage bool) func(cluster.ParticipantOut) error {
	return func(p cluster.ParticipantOut) error {
		tx, ok := p.Tx(txid)
		switch {
		case !ok:
			return fmt.Errorf("%s not listed", txid)
		case tx.State != want || !tx.Heuristic || tx.Damage != damage:
			return fmt.Errorf("%s is %s heuristic=%v damage=%v, want %s heuristic damage=%v", txid, tx.State, tx.Heuristic, tx.Damage, want, damage)
		}
		return nil
	}
}

func TestResolveInDoubtAgreeingCoordinator(t *testing.T) {
	const partTimeout = time.Second
	c := startCluster(t, cluster.Config{CoordDelay: 5 * time.Second, PartTimeout: partTimeout})
	blockAfterCommit(t, c, partTimeout)

	// Not confirmed (stdin is not a terminal, no --yes): nothing happens.
	r := c.Txcli("--participant", c.Part("B").Addr(), "resolve", "TX1", "commit")
	if r.Code != 1 || !strings.Contains(r.Stderr, "pass --yes") {
		t.Fatalf("resolve without --yes: %v", r)
	}
	// Refusals: unknown transaction; and, below, the other outcome.
	if out := resolveTx(t, c, "B", "NOPE", "commit", 1); !out.Refused || !strings.Contains(out.Reason, "not known here") {
		t.Fatalf("unknown transaction: %+v", out)
	}
	waitPart(t, c, "B", "TX1 still READY", inState("TX1", "READY"))

	// One command, naming B, resolves every member: B and C.
	out := resolveTx(t, c, "B", "TX1", "commit", 0)
	if !out.Applied || !out.Heuristic || out.State != "COMMITTED" || out.Participant != "B" || len(out.Members) != 2 {
		t.Fatalf("resolve: %+v", out)
	}
	for _, m := range out.Members {
		if !m.Applied || m.State != "COMMITTED" || m.Before != "READY" {
			t.Fatalf("resolve on %s: %+v", m.ID, m)
		}
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 heuristically committed", all(heuristicTx("TX1", "COMMITTED", false), hasValue("balance", "1000")))
	}
	// Idempotent, and never the other way.
	if out := resolveTx(t, c, "B", "TX1", "commit", 0); out.Applied || out.Refused || !strings.Contains(out.Reason, "already COMMITTED") {
		t.Fatalf("second resolve: %+v", out)
	}
	if out := resolveTx(t, c, "B", "TX1", "abort", 1); !out.Refused || !strings.Contains(out.Reason, "cannot undo") {
		t.Fatalf("opposite resolve: %+v", out)
	}
	if out := resolveTx(t, c, "B", "TX1", "abort", 1, "--force"); !out.Refused || !strings.Contains(out.Reason, "cannot undo") {
		t.Fatalf("opposite resolve: %+v", out)
	}

	// The heuristic record survives kill -9.
	kill9(t, c.Part("B"))
	restart(t, c.Part("B"))
	waitPart(t, c, "B", "TX1 still heuristic after a restart", all(heuristicTx("TX1", "COMMITTED", false), hasValue("balance", "1000")))

	// The coordinator returns and re-sends COMMIT: it agrees.
	c.Coord.DelFlag("delay")
	c.StartCoord()
	waitCoord(t, c, "TX1 committed, heuristic acks noted", func(st cluster.CoordOut) error {
		if err := coordTx("TX1", "COMMITTED", both("COMMITTED"))(st); err != nil {
			return err
		}
		if tx, _ := st.Tx("TX1"); !tx.Heuristic || tx.Damage {
			return fmt.Errorf("TX1 heuristic=%v damage=%v, want heuristic without damage", tx.Heuristic, tx.Damage)
		}
		return nil
	})
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 heuristic, no damage", heuristicTx("TX1", "COMMITTED", false))
		if l := c.Part(id).LogLines("heuristic damage"); len(l) > 0 {
			t.Errorf("%s reports damage for an agreeing decision: %q", id, l)
		}
	}
	// No lock survives: the same key commits again.
	commit(t, c, "TX2", "SET", "balance", "2000")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX2 committed", all(inState("TX2", "COMMITTED"), hasValue("balance", "2000")))
	}
}

func TestResolveInDoubtHeuristicDamage(t *testing.T) {
	const partTimeout = 500 * time.Millisecond
	c := startCluster(t, cluster.Config{CoordDelay: 5 * time.Second, PartTimeout: partTimeout})
	blockAfterCommit(t, c, partTimeout)

	// The operator guesses wrong on B only.
	if out := resolveTx(t, c, "B", "TX1", "abort", 0, "--only"); !out.Applied || out.State != "ABORTED" {
		t.Fatalf("resolve: %+v", out)
	}
	waitPart(t, c, "B", "TX1 heuristically aborted", all(heuristicTx("TX1", "ABORTED", false), hasValue("balance", "")))
	// C asks its peers every --timeout (cooperative termination); B does not
	// pass its guess on, so C stays blocked rather than abort too.
	cluster.Consistently(t, 4*partTimeout, "C stays READY", func() error {
		st, err := c.PartStatus("C")
		if err != nil {
			return err
		}
		return inState("TX1", "READY")(st)
	})

	// The coordinator returns with COMMIT: C commits, B keeps its outcome
	// and reports the damage, and the coordinator finishes.
	c.Coord.DelFlag("delay")
	c.StartCoord()
	waitPart(t, c, "C", "TX1 committed by the protocol", all(inState("TX1", "COMMITTED"), hasValue("balance", "1000")))
	damaged := all(heuristicTx("TX1", "ABORTED", true), hasValue("balance", ""), func(p cluster.ParticipantOut) error {
		if tx, _ := p.Tx("TX1"); tx.Reason != "heuristic damage: the coordinator COORD decided COMMIT" {
			return fmt.Errorf("reason %q", tx.Reason)
		}
		return nil
	})
	waitPart(t, c, "B", "TX1 heuristic damage", damaged)
	waitCoord(t, c, "TX1 finished with the damage shown", func(st cluster.CoordOut) error {
		if err := coordTx("TX1", "COMMITTED", map[string]string{"B": "ABORTED", "C": "COMMITTED"})(st); err != nil {
			return err
		}
		if tx, _ := st.Tx("TX1"); !tx.Heuristic || !tx.Damage || !strings.Contains(tx.Reason, "heuristic damage") {
			return fmt.Errorf("TX1 %+v, want heuristic damage", tx)
		}
		return nil
	})
	if len(c.Part("B").LogLines("level=ERROR", "heuristic damage", "TX1")) == 0 {
		t.Errorf("B logged no heuristic damage error:\n%s", c.Part("B").LogTail(20))
	}
	if len(c.Coord.LogLines("level=ERROR", "heuristic damage", "TX1")) == 0 {
		t.Errorf("the coordinator logged no heuristic damage error:\n%s", c.Coord.LogTail(20))
	}
	if l := c.Coord.LogLines("atomicity violated"); len(l) > 0 {
		t.Errorf("a heuristic ack taken for a protocol failure: %q", l)
	}
	// The damage note survives kill -9 too.
	kill9(t, c.Part("B"))
	restart(t, c.Part("B"))
	waitPart(t, c, "B", "TX1 damage after a restart", damaged)
}

// Issue 16: while the coordinator is alive (here in its --delay window,
// having told the client COMMITTED), resolve refuses both outcomes and
// changes nothing; the coordinator finishes the transaction itself.
func TestResolveRefusedWhileCoordinatorAlive(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordDelay: 3 * time.Second, PartTimeout: time.Second})
	out, r := c.StartTx("TX1", "2PC", "SET", "balance", "1000")
	wantOutcome(t, out, r, 0, "COMMITTED")
	waitPart(t, c, "C", "TX1 READY", inState("TX1", "READY"))
	if out := resolveTx(t, c, "C", "TX1", "abort", 1, "--force"); !out.Refused || !strings.Contains(out.Reason, "decided TX1 COMMITTED") {
		t.Fatalf("abort against the live coordinator's COMMIT: %+v", out)
	}
	if out := resolveTx(t, c, "C", "TX1", "commit", 1); !out.Refused || !strings.Contains(out.Reason, "is reachable") {
		t.Fatalf("commit while the coordinator is alive: %+v", out)
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 committed by the protocol", all(inState("TX1", "COMMITTED"), hasValue("balance", "1000")))
		st, err := c.PartStatus(id)
		if err != nil {
			t.Fatal(err)
		}
		if tx, _ := st.Tx("TX1"); tx.Heuristic {
			t.Errorf("%s: TX1 heuristic after refused resolves", id)
		}
	}
}
