package main

import (
	"context"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

const traceT0 = int64(1_795_000_000_000_000_000) // 2026-11-18T...; any fixed time

// atUS is traceT0 plus n microseconds.
func atUS(n int64) int64 { return traceT0 + n*1000 }

// committedTraces is a 2PC commit as COORD and B record it (C did not answer).
func committedTraces() (coord, b *wire.Trace) {
	ev := func(at int64, kind, what, peer string) wire.TraceEvent {
		return wire.TraceEvent{Time: atUS(at), Kind: kind, What: what, Peer: peer}
	}
	coord = &wire.Trace{NodeID: "COORD", Role: wire.RoleCoordinator, TxID: "TX1", Since: traceT0 - 1e9, Protocol: wire.TwoPC,
		Events: []wire.TraceEvent{
			ev(0, wire.TraceRecv, "START", "client"),
			ev(10, wire.TraceSend, "PREPARE", "B"),
			ev(11, wire.TraceSend, "PREPARE", "C"),
			ev(12, wire.TraceLog, "BEGIN", ""),
			ev(200, wire.TraceRecv, "VOTE YES", "B"),
			ev(1500, wire.TraceForce, "DECISION", ""),
			ev(1510, wire.TraceSend, "COMMIT", "B"),
		}}
	b = &wire.Trace{NodeID: "B", Role: wire.RoleParticipant, TxID: "TX1", Since: traceT0 - 1e9, Protocol: wire.TwoPC,
		Events: []wire.TraceEvent{
			ev(40, wire.TraceRecv, "PREPARE", "COORD"),
			ev(150, wire.TraceForce, "PREPARED", ""),
			ev(160, wire.TraceSend, "VOTE YES", "COORD"),
			ev(1600, wire.TraceRecv, "COMMIT", "COORD"),
		}}
	return coord, b
}

func renderView(v traceView) string {
	var sb strings.Builder
	renderTrace(&sb, v)
	return sb.String()
}

// lineWith returns the one output line containing s.
func lineWith(t *testing.T, out, s string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines contain %q:\n%s", len(found), s, out)
	}
	return found[0]
}

func TestTraceRenderCommitted(t *testing.T) {
	coord, b := committedTraces()
	v := buildView("TX1", []traceAnswer{{id: "COORD", addr: "h:1", tr: coord}, {id: "B", addr: "h:2", tr: b},
		{id: "C", addr: "h:3", err: errString("cannot reach participant at h:3: connection refused")}})
	out := renderView(v)
	for _, want := range []string{
		"Transaction TX1 (2PC)\n",
		"Times are relative to the first event, " + stamp(traceT0),
		"  COORD    " + stamp(traceT0) + "\n",
		"  B        " + stamp(atUS(40)) + "\n",
		"  C        not reachable at h:3: cannot reach participant at h:3: connection refused\n",
		"       time  COORD           B               C\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Rows in time order across nodes, each drawn and described.
	rows := []struct{ text, lane, at string }{
		{"COORD ◀──START── client", "●               │               ┊", "+0µs"},
		{"COORD ──PREPARE──▶ B", "├─PREPARE──────▶│               ┊", "+10µs"},
		{"COORD ──PREPARE──▶ C", "├─PREPARE──────────────────────▶┊", "+11µs"},
		{"COORD [log BEGIN]", "□ BEGIN         │               ┊", "+12µs"},
		{"B ◀──PREPARE── COORD", "│               ●               ┊", "+40µs"},
		{"B [force PREPARED]", "│               ■ PREPARED      ┊", "+150µs"},
		{"B ──VOTE YES──▶ COORD", "│◀─VOTE YES─────┤               ┊", "+160µs"},
		{"COORD ◀──VOTE YES── B", "●               │               ┊", "+200µs"},
		{"COORD [force DECISION]", "■ DECISION      │               ┊", "+1.500ms"},
		{"B ◀──COMMIT── COORD", "│               ●               ┊", "+1.600ms"},
	}
	last := -1
	for _, r := range rows {
		l := lineWith(t, out, r.text)
		if !strings.Contains(l, r.lane) || !strings.HasPrefix(strings.TrimLeft(l, " "), r.at+"  ") {
			t.Errorf("row %q drawn as\n%s\nwant lane %q at %s", r.text, l, r.lane, r.at)
		}
		i := strings.Index(out, l)
		if i < last {
			t.Errorf("row %q out of order", r.text)
		}
		last = i
	}
	if strings.Contains(out, "restarted") || strings.Contains(out, "] (from log)") {
		t.Errorf("no restart happened:\n%s", out)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// A restarted node shows its records from the log and says that its
// messages from before the restart are not known.
func TestTraceRenderRestarted(t *testing.T) {
	coord, b := committedTraces()
	restart := atUS(1000)
	b.Since = restart
	b.Events = []wire.TraceEvent{
		{Time: atUS(140), Kind: wire.TraceForce, What: "PREPARED", FromLog: true},
		{Time: atUS(2000), Kind: wire.TraceSend, What: "QUERY", Peer: "COORD"},
	}
	v := buildView("TX1", []traceAnswer{{tr: coord}, {tr: b}})
	if !v.Nodes[1].Restarted || v.Nodes[0].Restarted {
		t.Fatalf("restarted flags: %+v", v.Nodes)
	}
	out := renderView(v)
	if l := lineWith(t, out, "B [force PREPARED] (from log)"); !strings.Contains(l, "■ PREPARED") {
		t.Errorf("replayed record drawn as %q", l)
	}
	note := lineWith(t, out, "B restarted here: messages before were not recorded")
	if !strings.Contains(note, "+1.000ms") || !strings.Contains(note, "╪") {
		t.Errorf("restart row: %q", note)
	}
	// The restart row (+1 ms) sits between the last event before it and
	// the first after it.
	if i, j, k := strings.Index(out, "COORD ◀──VOTE YES── B"), strings.Index(out, note), strings.Index(out, "B ──QUERY──▶ COORD"); !(i < j && j < k) {
		t.Errorf("restart row out of place:\n%s", out)
	}
	if !strings.Contains(out, "(restarted "+stamp(restart)+": messages before that were not recorded") {
		t.Errorf("header does not say B restarted:\n%s", out)
	}

	// Restarted after the transaction's last event: the row comes last.
	b.Since = atUS(5000)
	out = renderView(buildView("TX1", []traceAnswer{{tr: coord}, {tr: b}}))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[len(lines)-5], "B restarted here") || !strings.Contains(lines[len(lines)-5], "+5.000ms") {
		t.Errorf("restart after the last event not at the end:\n%s", out)
	}
}

// Under 3PC the shared messages take 3PC's names; records keep theirs.
func TestTraceView3PCNames(t *testing.T) {
	tr := &wire.Trace{NodeID: "B", Role: wire.RoleParticipant, Protocol: wire.ThreePC, Events: []wire.TraceEvent{
		{Time: 1, Kind: wire.TraceRecv, What: "PREPARE", Peer: "COORD"},
		{Time: 2, Kind: wire.TraceRecv, What: "PRE-COMMIT", Peer: "COORD"},
		{Time: 3, Kind: wire.TraceRecv, What: "COMMIT", Peer: "COORD"},
		{Time: 4, Kind: wire.TraceForce, What: "COMMIT"},
	}}
	v := buildView("T", []traceAnswer{{tr: tr}})
	var got []string
	for _, e := range v.Events {
		got = append(got, e.What)
	}
	if strings.Join(got, ",") != "CAN-COMMIT,PRE-COMMIT,DO-COMMIT,COMMIT" || v.Protocol != "3PC" {
		t.Fatalf("3PC names: %v (%s)", got, v.Protocol)
	}
}

func TestTraceOffsetAndClip(t *testing.T) {
	for ns, want := range map[int64]string{0: "+0µs", 999: "+0µs", 12_345: "+12µs", 1_500_000: "+1.500ms", 2_000_000_000: "+2.000s", -3000: "-3µs"} {
		if got := offset(ns); got != want {
			t.Errorf("offset(%d) = %q, want %q", ns, got, want)
		}
	}
	if clip("ACK COMMITTED", 8) != "ACK COM…" || clip("VOTE", 8) != "VOTE" || clip("X", 0) != "" {
		t.Error("clip")
	}
}

// The command: the coordinator's trace, its participants' (one down),
// merged; exit 0 with a warning. Unknown everywhere: exit 1.
func TestTraceCommand(t *testing.T) {
	clearEnv(t)
	coordTr, bTr := committedTraces()
	known := func(tr *wire.Trace) func(context.Context, string) (*wire.Trace, error) {
		return func(_ context.Context, txid string) (*wire.Trace, error) {
			if txid != "TX1" {
				return &wire.Trace{NodeID: tr.NodeID, Role: tr.Role, TxID: txid}, nil
			}
			return tr, nil
		}
	}
	fc := &fakeCluster{nodes: map[string]*fakeNode{
		"10.0.0.1:8000": {hello: coordHello(), trace: known(coordTr), status: func(context.Context) (*wire.Status, error) {
			return &wire.Status{NodeID: "COORD", Role: wire.RoleCoordinator, Participants: []wire.PeerStatus{
				{ID: "B", Addr: ":8001", Connected: true}, {ID: "C", Addr: "10.0.0.3:8002"}}}, nil
		}},
		"10.0.0.1:8001": {trace: known(bTr)},
	}}
	r := txcli(t, fc.dial, "--coord", "http://10.0.0.1:8000", "trace", "TX1")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %s", r.code, r.errOut)
	}
	oneErrLine(t, r, "warning: C not asked: cannot reach participant at 10.0.0.3:8002")
	lineWith(t, r.out, "B ──VOTE YES──▶ COORD")

	r = txcli(t, fc.dial, "--coord", "10.0.0.1:8000", "trace", "--json", "TX1")
	m := decodeJSON(t, r.out)
	if r.code != exitOK || m["id"] != "TX1" || m["protocol"] != "2PC" || m["start_ns"] != float64(traceT0) {
		t.Fatalf("exit %d, JSON %v", r.code, m)
	}
	nodes := m["nodes"].([]any)
	if len(nodes) != 3 || nodes[1].(map[string]any)["addr"] != "10.0.0.1:8001" || nodes[2].(map[string]any)["reachable"] != false {
		t.Errorf("nodes: %v", nodes)
	}
	events := m["events"].([]any)
	if len(events) != 11 {
		t.Fatalf("%d events, want 11", len(events))
	}
	e := events[4].(map[string]any) // B receives PREPARE at +40 µs
	sameJSON(t, mustJSON(t, e), `{"node":"B","time_ns":`+mustJSON(t, atUS(40))+`,"offset_us":40,"kind":"recv","what":"PREPARE","peer":"COORD"}`)

	r = txcli(t, fc.dial, "--coord", "10.0.0.1:8000", "trace", "NOPE")
	if r.code != exitAborted || !strings.Contains(r.out, "COORD    no record of NOPE") {
		t.Errorf("unknown transaction: exit %d, stdout %s", r.code, r.out)
	}
	oneErrLine(t, lastLine(r), "no node that answered has a trace of NOPE")

	// One participant only.
	r = txcli(t, fc.dial, "--participant", "10.0.0.1:8001", "trace", "TX1")
	if r.code != exitOK || strings.Contains(r.out, "COORD ◀──START") || !strings.Contains(r.out, "B [force PREPARED]") {
		t.Errorf("participant trace: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
}

func TestTraceCommandErrors(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "TX1"}, "trace needs --coord ADDR"},
		{[]string{"--coord", "h:1", "trace"}, "trace takes one argument"},
		{[]string{"--coord", "h:1", "trace", "A", "B"}, "trace takes one argument"},
		{[]string{"--coord", "h:1", "trace", "bad id"}, "transaction id"},
		{[]string{"--coord", "h:99999", "trace", "TX1"}, "--coord"},
	} {
		r := txcli(t, noDial(t), tc.args...)
		if r.code != exitError {
			t.Errorf("%v: exit %d", tc.args, r.code)
		}
		oneErrLine(t, r, tc.want)
	}
	fc := &fakeCluster{nodes: map[string]*fakeNode{}}
	r := txcli(t, fc.dial, "--coord", "10.0.0.1:8000", "trace", "TX1")
	if r.code != exitError {
		t.Errorf("coordinator down: exit %d", r.code)
	}
	oneErrLine(t, r, "cannot reach coordinator at 10.0.0.1:8000")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	s, err := jsonString(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lastLine keeps only stderr's last line (warnings come before the error).
func lastLine(r result) result {
	lines := strings.Split(strings.TrimSuffix(r.errOut, "\n"), "\n")
	r.errOut = lines[len(lines)-1] + "\n"
	return r
}

// A receipt stamped before its send (the clocks differ) is listed after
// the send, saying by how much; the legend explains the client-reply mark.
func TestTraceCausalOrder(t *testing.T) {
	coord := &wire.Trace{NodeID: "COORD", Role: wire.RoleCoordinator, Protocol: wire.TwoPC, Events: []wire.TraceEvent{
		{Time: atUS(0), Kind: wire.TraceRecv, What: "START", Peer: "client"},
		{Time: atUS(10), Kind: wire.TraceSend, What: "PREPARE", Peer: "B"},
		{Time: atUS(3000), Kind: wire.TraceSend, What: "COMMITTED", Peer: "client"},
		{Time: atUS(4500), Kind: wire.TraceSend, What: "FORGET", Peer: "B"},
	}}
	b := &wire.Trace{NodeID: "B", Role: wire.RoleParticipant, Events: []wire.TraceEvent{
		{Time: atUS(100), Kind: wire.TraceRecv, What: "PREPARE", Peer: "COORD"},
		{Time: atUS(3000), Kind: wire.TraceRecv, What: "FORGET", Peer: "COORD"},
	}}
	v := buildView("TX1", []traceAnswer{{tr: coord}, {tr: b}})
	wantOrder(t, v, "COORD recv START,COORD send PREPARE,B recv PREPARE,COORD send COMMITTED,COORD send FORGET,B recv FORGET")
	if e := v.Events[5]; e.EarlyUS != 1500 {
		t.Errorf("early by %v µs, want 1500", e.EarlyUS)
	}
	out := renderView(v)
	if l := lineWith(t, out, "B ◀──FORGET── COORD"); !strings.Contains(l, "stamped 1.500ms before its send") {
		t.Errorf("FORGET row %q", l)
	}
	if l := lineWith(t, out, "COORD ──COMMITTED──▶ client"); !strings.Contains(l, "○") || !strings.Contains(out, "○ sent to the client (its reply)") {
		t.Errorf("client reply %q, legend:\n%s", l, out)
	}
}

// A receipt from before its sender restarted is not the receipt of a send
// the restarted sender recorded: B got COMMIT and FORGET from the
// coordinator's previous run, and again after its restart; each receipt
// pairs with its own run's send (none recorded for the first), and none
// is said to be stamped before its send.
func TestTraceCausalOrderAcrossSenderRestart(t *testing.T) {
	coord := &wire.Trace{NodeID: "COORD", Role: wire.RoleCoordinator, Protocol: wire.TwoPC, Since: atUS(5000), Events: []wire.TraceEvent{
		{Time: atUS(0), Kind: wire.TraceForce, What: "DECISION", FromLog: true},
		{Time: atUS(6000), Kind: wire.TraceSend, What: "COMMIT", Peer: "B"},
		{Time: atUS(6200), Kind: wire.TraceSend, What: "FORGET", Peer: "B"},
	}}
	b := &wire.Trace{NodeID: "B", Role: wire.RoleParticipant, Since: atUS(-1000), Events: []wire.TraceEvent{
		{Time: atUS(100), Kind: wire.TraceRecv, What: "COMMIT", Peer: "COORD"},
		{Time: atUS(200), Kind: wire.TraceRecv, What: "FORGET", Peer: "COORD"},
		{Time: atUS(6100), Kind: wire.TraceRecv, What: "COMMIT", Peer: "COORD"},
		{Time: atUS(6300), Kind: wire.TraceRecv, What: "FORGET", Peer: "COORD"},
	}}
	v := buildView("TX1", []traceAnswer{{tr: coord}, {tr: b}})
	for _, e := range v.Events {
		if e.EarlyUS != 0 {
			t.Errorf("%s %s %s said to be %v µs early", e.Node, e.Kind, e.What, e.EarlyUS)
		}
	}
	wantOrder(t, v, "COORD force DECISION,B recv COMMIT,B recv FORGET,COORD send COMMIT,B recv COMMIT,COORD send FORGET,B recv FORGET")
}

// wantOrder checks the view's events, as "node kind what", in order.
func wantOrder(t *testing.T, v traceView, want string) {
	t.Helper()
	var order []string
	for _, e := range v.Events {
		order = append(order, e.Node+" "+e.Kind+" "+e.What)
	}
	if got := strings.Join(order, ","); got != want {
		t.Fatalf("order %q\nwant %q", got, want)
	}
}

// A node that dropped events (a long transaction) breaks the counting: B
// kept its first send of REPLY to C and its latest, not the one between;
// C kept every receipt. Its second receipt is not the receipt of B's
// latest send, and is not said to be early.
func TestTraceCausalOrderWithDroppedEvents(t *testing.T) {
	b := &wire.Trace{NodeID: "B", Role: wire.RoleParticipant, Dropped: 1, Events: []wire.TraceEvent{
		{Time: atUS(100), Kind: wire.TraceSend, What: "REPLY READY", Peer: "C"},
		{Time: atUS(4000), Kind: wire.TraceSend, What: "REPLY READY", Peer: "C"},
	}}
	c := &wire.Trace{NodeID: "C", Role: wire.RoleParticipant, Events: []wire.TraceEvent{
		{Time: atUS(110), Kind: wire.TraceRecv, What: "REPLY READY", Peer: "B"},
		{Time: atUS(2010), Kind: wire.TraceRecv, What: "REPLY READY", Peer: "B"},
		{Time: atUS(4010), Kind: wire.TraceRecv, What: "REPLY READY", Peer: "B"},
	}}
	v := buildView("TX1", []traceAnswer{{tr: b}, {tr: c}})
	for i, e := range v.Events {
		if e.EarlyUS != 0 || (i > 0 && e.TimeNS < v.Events[i-1].TimeNS) {
			t.Errorf("%s %s %s at +%dns listed out of time order, %v µs early", e.Node, e.Kind, e.What, e.TimeNS-traceT0, e.EarlyUS)
		}
	}
}
