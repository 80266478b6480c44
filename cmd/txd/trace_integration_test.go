package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// traceOut is `txcli trace --json`'s output, the fields these tests read.
type traceOut struct {
	ID       string `json:"id"`
	Protocol string `json:"protocol"`
	Nodes    []struct {
		ID        string `json:"id"`
		Reachable bool   `json:"reachable"`
		Known     bool   `json:"known"`
		Restarted bool   `json:"restarted"`
		SinceNS   int64  `json:"since_ns"`
	} `json:"nodes"`
	Events []traceEv `json:"events"`
}

type traceEv struct {
	Node    string `json:"node"`
	TimeNS  int64  `json:"time_ns"`
	Kind    string `json:"kind"`
	What    string `json:"what"`
	Peer    string `json:"peer"`
	Detail  string `json:"detail"`
	FromLog bool   `json:"from_log"`
}

// has reports whether an event of node matches kind and what (and peer,
// unless "*"), and returns the first.
func (o traceOut) has(node, kind, what, peer string) (traceEv, bool) {
	for _, e := range o.Events {
		if e.Node == node && e.Kind == kind && e.What == what && (peer == "*" || e.Peer == peer) {
			return e, true
		}
	}
	return traceEv{}, false
}

// events lists node's events as "kind what peer", for failure messages.
func (o traceOut) events(node string) string {
	var s []string
	for _, e := range o.Events {
		if e.Node == node {
			s = append(s, fmt.Sprintf("%s %s %s (log %v)", e.Kind, e.What, e.Peer, e.FromLog))
		}
	}
	return strings.Join(s, "; ")
}

// traceJSON runs txcli trace --json for txid against the coordinator.
func traceJSON(t *testing.T, c *cluster.Cluster, txid string) (traceOut, cluster.Result) {
	t.Helper()
	r := c.Txcli("--coord", c.Coord.Addr(), "--timeout", "5s", "trace", "--json", txid)
	var out traceOut
	if r.Code <= 1 {
		if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
			t.Fatalf("trace %s: bad JSON: %v\n%v", txid, err, r)
		}
	}
	return out, r
}

// waitTrace polls the trace of txid until cond accepts it.
func waitTrace(t *testing.T, c *cluster.Cluster, txid, what string, cond func(traceOut) error) traceOut {
	t.Helper()
	var out traceOut
	cluster.Eventually(t, waitTimeout, "trace of "+txid+": "+what, func() error {
		var r cluster.Result
		out, r = traceJSON(t, c, txid)
		if r.Code != 0 {
			return fmt.Errorf("exit %d: %s", r.Code, strings.TrimSpace(r.Stderr))
		}
		return cond(out)
	})
	return out
}

// need checks that every node in want has its events; each want entry is
// "node kind what peer" (peer "*" for any).
func need(want ...string) func(traceOut) error {
	return func(o traceOut) error {
		for _, w := range want {
			f := strings.SplitN(w, " ", 3)
			what, peer, _ := strings.Cut(f[2], "|")
			if _, ok := o.has(f[0], f[1], what, peer); !ok {
				return fmt.Errorf("%s has no %s %s (to/from %s); it has: %s", f[0], f[1], what, peer, o.events(f[0]))
			}
		}
		return nil
	}
}

// `txcli trace` on a real cluster: a committed, an aborted (NO vote) and a
// recovered transaction (the coordinator killed -9 after its decision, in
// its --delay window, and restarted), then the same after both
// participants were killed -9 and restarted: their records come back from
// their logs.
func TestTraceIntegration(t *testing.T) {
	c := startCluster(t, cluster.Config{PartTimeout: time.Second})

	commit(t, c, "TX1", "SET", "balance", "1000")
	tx1 := waitTrace(t, c, "TX1", "every node's side of the commit", need(
		"COORD recv START|client", "COORD send PREPARE|B", "COORD send PREPARE|C", "COORD recv VOTE YES|B",
		"COORD force DECISION|", "COORD send COMMIT|C", "COORD recv ACK COMMITTED|B", "COORD log END|",
		"B recv PREPARE|COORD", "B force PREPARED|", "B send VOTE YES|COORD", "B force COMMIT|", "B send ACK COMMITTED|COORD",
		"C force PREPARED|", "C force COMMIT|"))
	// Persist before send, as the trace shows it: the vote follows the
	// participant's PREPARED, COMMIT follows the coordinator's DECISION.
	prepared, _ := tx1.has("B", "force", "PREPARED", "")
	vote, _ := tx1.has("B", "send", "VOTE YES", "COORD")
	decision, _ := tx1.has("COORD", "force", "DECISION", "")
	commitC, _ := tx1.has("COORD", "send", "COMMIT", "C")
	if vote.TimeNS < prepared.TimeNS || commitC.TimeNS < decision.TimeNS {
		t.Errorf("trace shows a send before its record: vote %d < PREPARED %d or COMMIT %d < DECISION %d",
			vote.TimeNS, prepared.TimeNS, commitC.TimeNS, decision.TimeNS)
	}
	if tx1.Protocol != "2PC" || len(tx1.Nodes) != 3 {
		t.Errorf("header: %+v", tx1)
	}
	// The diagram itself.
	r := c.Txcli("--coord", c.Coord.Addr(), "trace", "TX1")
	for _, want := range []string{"Transaction TX1 (2PC)", "COORD ──PREPARE──▶ B", "B [force PREPARED]", "├─PREPARE", "■ PREPARED", "B ──VOTE YES──▶ COORD"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("trace TX1 lacks %q:\n%v", want, r)
		}
	}

	// A NO vote (validation): the voter's reason, a lazy ABORT, no PREPARED.
	out, sr := c.StartTx("T2", "2PC", "B:ADD", "balance", "-5000")
	wantOutcome(t, out, sr, 1, "ABORTED")
	t2 := waitTrace(t, c, "T2", "the NO vote and the abort", need(
		"B send VOTE NO|COORD", "B log ABORT|", "COORD recv VOTE NO|B", "COORD force DECISION|", "COORD send RESULT ABORTED|client"))
	if e, _ := t2.has("B", "send", "VOTE NO", "COORD"); !strings.Contains(e.Detail, "balance would be -4000") {
		t.Errorf("VOTE NO without its reason: %+v", e)
	}
	if _, ok := t2.has("B", "force", "PREPARED", ""); ok {
		t.Errorf("B forced PREPARED for a NO vote: %s", t2.events("B"))
	}

	// Recovery: the coordinator decides TX3, answers, and is killed -9
	// before phase two; restarted without --delay it delivers the decision.
	c.Coord.SetFlag("delay", "5s")
	if err := c.Coord.Stop(); err != nil {
		t.Fatal(err)
	}
	c.StartCoord()
	commit(t, c, "TX3", "SET", "x", "3")
	kill9(t, c.Coord)
	c.Coord.DelFlag("delay")
	c.StartCoord()
	tx3 := waitTrace(t, c, "TX3", "the decision delivered after the coordinator's restart", need(
		"COORD force DECISION|", "COORD send COMMIT|B", "COORD send COMMIT|C", "COORD recv ACK COMMITTED|B",
		"B force PREPARED|", "B force COMMIT|", "C force COMMIT|"))
	if n := tx3.Nodes[0]; n.ID != "COORD" || !n.Restarted {
		t.Errorf("the restarted coordinator is not marked as restarted: %+v", tx3.Nodes)
	}
	if e, _ := tx3.has("COORD", "force", "DECISION", ""); !e.FromLog {
		t.Errorf("the coordinator's DECISION for TX3 should come from its log: %s", tx3.events("COORD"))
	}
	if _, ok := tx3.has("COORD", "recv", "START", "client"); ok {
		t.Errorf("the restarted coordinator claims to have seen TX3's START: %s", tx3.events("COORD"))
	}
	r = c.Txcli("--coord", c.Coord.Addr(), "trace", "TX3")
	if !strings.Contains(r.Stdout, "COORD restarted here: messages before were not recorded") || !strings.Contains(r.Stdout, "[force DECISION] (from log)") {
		t.Errorf("trace TX3 does not show the coordinator's restart honestly:\n%v", r)
	}

	// Both participants killed -9 and restarted: every transaction still
	// shows their records, from their logs, and the exit code is 0.
	for _, id := range []string{"B", "C"} {
		kill9(t, c.Part(id))
		restart(t, c.Part(id))
	}
	c.WaitConnected("B", "C")
	for _, tc := range []struct {
		txid    string
		members []string
		want    []string
	}{
		{"TX1", []string{"B", "C"}, []string{"B force PREPARED|", "B force COMMIT|", "C force PREPARED|", "C force COMMIT|"}},
		{"T2", []string{"B"}, []string{"B log ABORT|"}}, // B:ADD only: C never heard of T2
		{"TX3", []string{"B", "C"}, []string{"B force PREPARED|", "B force COMMIT|", "C force PREPARED|", "C force COMMIT|"}},
	} {
		o := waitTrace(t, c, tc.txid, "records from the restarted participants' logs", need(tc.want...))
		since := map[string]int64{}
		for _, n := range o.Nodes {
			since[n.ID] = n.SinceNS
			for _, m := range tc.members {
				if n.ID == m && (!n.Reachable || !n.Known || !n.Restarted) {
					t.Errorf("%s: participant %s not shown as restarted with a known trace: %+v", tc.txid, n.ID, n)
				}
			}
		}
		for _, e := range o.Events {
			if e.Node != "COORD" && !e.FromLog && e.TimeNS < since[e.Node] {
				t.Errorf("%s: %s shows a live event from before its restart: %+v", tc.txid, e.Node, e)
			}
		}
	}
	r = c.Txcli("--participant", c.Part("B").Addr(), "trace", "TX1")
	if r.Code != 0 || !strings.Contains(r.Stdout, "B [force COMMIT] (from log)") || !strings.Contains(r.Stdout, "B restarted here") {
		t.Errorf("trace TX1 on the restarted B:\n%v", r)
	}

	// Unknown everywhere: exit 1.
	if _, r := traceJSON(t, c, "NEVER"); r.Code != 1 || !strings.Contains(r.Stderr, "no node that answered has a trace of NEVER") {
		t.Errorf("trace of an unknown transaction: %v", r)
	}
}
