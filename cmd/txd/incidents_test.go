package main

// The participants' incident log lines on real processes (docs/operations.md,
// "Logs"): each state an operator must act on is logged once when it starts
// and once when it ends. Crash windows' timing: helpers_test.go.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// waitLine polls n's log until a line holds every one of subs.
func waitLine(t *testing.T, n *cluster.Node, what string, subs ...string) string {
	t.Helper()
	var line string
	cluster.Eventually(t, waitTimeout, n.ID+": "+what, func() error {
		l := n.LogLines(subs...)
		if len(l) == 0 {
			return fmt.Errorf("no line with %q", subs)
		}
		line = l[0]
		return nil
	})
	return line
}

// oldestInDoubt scrapes txd_in_doubt_oldest_seconds.
func oldestInDoubt(addr string) (float64, error) {
	fams, err := scrape(addr)
	if err != nil {
		return 0, err
	}
	v, ok := fams.value("txd_in_doubt_oldest_seconds")
	if !ok {
		return 0, fmt.Errorf("no txd_in_doubt_oldest_seconds")
	}
	return v, nil
}

// 2PC without its coordinator: each participant logs the coordinator lost,
// then (past --in-doubt-warn) the transaction in doubt, once however often
// it asks, and the oldest-in-doubt metric grows; the restarted coordinator
// ends both, with how long they lasted, and the metric is back to 0.
func TestIncidentsCoordinatorAway(t *testing.T) {
	metrics := map[string]string{}
	c := startClusterWith(t, cluster.Config{CoordLogLevel: "debug", CoordDelay: killWindow, PartTimeout: termTimeout}, func(c *cluster.Cluster) {
		for _, p := range c.Parts {
			metrics[p.ID] = freeAddr(t)
			p.SetFlag("metrics", metrics[p.ID])
			p.SetFlag("in-doubt-warn", "1s")
		}
	})
	out, r := c.StartTx("TX1", "2PC", "ADD", "balance", "10")
	wantOutcome(t, out, r, 0, "COMMITTED")
	kill9(t, c.Coord)
	inPhaseTwoDelay(t, c, "TX1", killWindow, time.Now())

	for _, p := range c.Parts {
		waitLine(t, p, "coordinator lost", `level=WARN msg="coordinator connection lost"`, "coordinator=COORD", "in_doubt=1")
		waitLine(t, p, "TX1 in doubt", `level=WARN msg="transaction in doubt`, "tx=TX1", "coordinator=COORD", "in_doubt_for=")
		cluster.Eventually(t, waitTimeout, p.ID+": oldest in doubt over 1s", func() error {
			v, err := oldestInDoubt(metrics[p.ID])
			if err == nil && v < 1 {
				err = fmt.Errorf("txd_in_doubt_oldest_seconds %v", v)
			}
			return err
		})
	}
	// Several --timeouts pass (each one asks the coordinator again): still
	// one line.
	cluster.Consistently(t, 4*termTimeout, "one in-doubt line for TX1 on each participant", func() error {
		for _, p := range c.Parts {
			if n := len(p.LogLines(`msg="transaction in doubt`, "tx=TX1")); n != 1 {
				return fmt.Errorf("%s: %d in-doubt lines for TX1, want 1", p.ID, n)
			}
		}
		return nil
	})

	c.Coord.DelFlag("delay")
	c.StartCoord()
	for _, p := range c.Parts {
		waitLine(t, p, "coordinator back", `level=INFO msg="coordinator connected again"`, "coordinator=COORD", "lasted=")
		end := waitLine(t, p, "TX1 settled", `level=INFO msg="transaction no longer in doubt"`, "tx=TX1", "outcome=COMMITTED", "in_doubt_for=", "lasted=")
		if strings.Contains(end, "termination") {
			t.Errorf("%s: %s: the coordinator decided, not the termination protocol", p.ID, end)
		}
		cluster.Eventually(t, waitTimeout, p.ID+": nothing in doubt", func() error {
			v, err := oldestInDoubt(metrics[p.ID])
			if err == nil && v != 0 {
				err = fmt.Errorf("txd_in_doubt_oldest_seconds %v", v)
			}
			return err
		})
		if l := p.LogLines("termination protocol"); len(l) > 0 {
			t.Errorf("%s: a termination line for a decision the coordinator delivered: %q", p.ID, l)
		}
	}
}

// 3PC's termination protocol deciding without the coordinator is logged
// on both participants, with the outcome and the rule that chose it.
func TestIncidentsTerminationDecision(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordLogLevel: "debug", CoordDelay: killWindow, PartTimeout: termTimeout})
	killed := killCoordWhileReady(t, c, killWindow, "TX1", "ADD", "balance", "100")
	waitOutcome(t, c, killed, "TX1", "ABORTED", "B", "C")
	for _, p := range c.Parts {
		line := waitLine(t, p, "termination decision", `level=WARN msg="decided without the coordinator, by the termination protocol"`,
			"tx=TX1", "outcome=ABORTED", "in_doubt_for=")
		// B leads; C hears B's decision, or asks B and learns it.
		want := "led by B"
		if p.ID == "C" {
			want = " B"
		}
		if !strings.Contains(line, want) {
			t.Errorf("%s: %s: want the reason naming the leader B", p.ID, line)
		}
	}
}
