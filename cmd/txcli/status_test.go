package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

func TestParticipantStatusJSON(t *testing.T) {
	clearEnv(t)
	addr := serve(t, participantB())
	r := txcli(t, dialWire, "--participant", "http://"+addr, "status", "--json")
	if r.code != exitOK {
		t.Fatalf("exit code %d, stderr %s", r.code, r.errOut)
	}
	sameJSON(t, r.out, `{"id":"B","role":"participant","store":{"alpha":"x y","balance":"1000"},
		"keys":2,"key_bytes":12,"value_bytes":7,"store_truncated":false,"transactions":[
		{"id":"TX1","protocol":"2PC","state":"COMMITTED"},
		{"id":"T2","protocol":"2PC","state":"ABORTED","reason":"B: balance would be -200"},
		{"id":"T3","protocol":"3PC","state":"READY"}]}`)
	// The node's order, not sorted.
	if i, j := strings.Index(r.out, `"TX1"`), strings.Index(r.out, `"T2"`); i > j {
		t.Errorf("transactions reordered: %s", r.out)
	}
}

func TestEmptyParticipantStatusJSON(t *testing.T) {
	clearEnv(t)
	addr := serve(t, &testNode{
		self:   wire.HelloAck{NodeID: "C", Role: wire.RoleParticipant},
		status: wire.Status{NodeID: "C", Role: wire.RoleParticipant},
	})
	r := txcli(t, dialWire, "--json", "--participant", addr, "status")
	if r.code != exitOK {
		t.Fatalf("exit code %d, stderr %s", r.code, r.errOut)
	}
	if r.out != `{"id":"C","role":"participant","store":{},"transactions":[],"keys":0,"key_bytes":0,"value_bytes":0,"store_truncated":false}`+"\n" {
		t.Errorf("stdout %s", r.out)
	}
}

func TestParticipantStatusHuman(t *testing.T) {
	clearEnv(t)
	addr := serve(t, participantB())
	r := txcli(t, dialWire, "--participant", addr, "status")
	want := `participant B
STORE
  alpha    x y
  balance  1000
TRANSACTIONS
  ID   PROTOCOL  STATE      REASON
  TX1  2PC       COMMITTED
  T2   2PC       ABORTED    B: balance would be -200
  T3   3PC       READY
  READY: voted yes, waiting for the outcome: blocked/in doubt
`
	if r.code != exitOK || r.out != want {
		t.Errorf("exit %d, stderr %q, stdout\n%s\nwant\n%s", r.code, r.errOut, r.out, want)
	}
}

// cluster starts B, the coordinator and reports C at a closed port.
func cluster(t *testing.T) (coordAddr, bAddr, cAddr string) {
	bAddr = serve(t, participantB())
	cAddr = closedAddr(t)
	co := coordinator(wire.StateCommitted, "")
	co.status = wire.Status{
		NodeID: "COORD", Role: wire.RoleCoordinator,
		Participants: []wire.PeerStatus{{ID: "B", Addr: bAddr, Connected: true}, {ID: "C", Addr: cAddr}},
		Transactions: []wire.TxStatus{
			{TxID: "TX1", Protocol: wire.TwoPC, State: wire.StateCommitted,
				Participants: map[string]wire.State{"B": wire.StateCommitted, "C": wire.StateCommitted}},
			{TxID: "T3", Protocol: wire.ThreePC, State: wire.StatePrecommitted,
				Participants: map[string]wire.State{"B": wire.StateReady}},
		},
	}
	return serve(t, co), bAddr, cAddr
}

func TestCoordinatorStatusJSON(t *testing.T) {
	clearEnv(t)
	coord, bAddr, cAddr := cluster(t)
	r := txcli(t, dialWire, "--coord", coord, "--json", "status")
	if r.code != exitOK {
		t.Fatalf("exit code %d, stderr %s", r.code, r.errOut)
	}
	m := decodeJSON(t, r.out)
	ps := m["participants"].([]any)
	c := ps[1].(map[string]any)
	if c["reachable"] != false || !strings.Contains(c["error"].(string), "cannot reach participant at "+cAddr) {
		t.Errorf("C: %v", c)
	}
	delete(c, "error")
	got, _ := jsonString(m)
	want := `{"id":"COORD","role":"coordinator","participants":[
		{"id":"B","addr":"` + bAddr + `","connected":true,"reachable":true,
		 "store":{"alpha":"x y","balance":"1000"},"keys":2,"key_bytes":12,"value_bytes":7,"store_truncated":false,
		 "transactions":[{"id":"TX1","protocol":"2PC","state":"COMMITTED"},
			{"id":"T2","protocol":"2PC","state":"ABORTED","reason":"B: balance would be -200"},
			{"id":"T3","protocol":"3PC","state":"READY"}]},
		{"id":"C","addr":"` + cAddr + `","connected":false,"reachable":false}],
	"transactions":[
		{"id":"TX1","protocol":"2PC","state":"COMMITTED","participants":{"B":"COMMITTED","C":"COMMITTED"},"applied":{"B":"COMMITTED"}},
		{"id":"T3","protocol":"3PC","state":"PRECOMMITTED","participants":{"B":"READY"},"applied":{"B":"READY"}}]}`
	sameJSON(t, got, want)
}

func TestCoordinatorStatusHuman(t *testing.T) {
	clearEnv(t)
	coord, bAddr, cAddr := cluster(t)
	r := txcli(t, dialWire, "--coord", coord, "status")
	if r.code != exitOK {
		t.Fatalf("exit code %d, stderr %s", r.code, r.errOut)
	}
	for _, want := range []string{
		"coordinator COORD\nPARTICIPANTS\n",
		"  B   " + bAddr + "  yes        yes\n",
		"  C   " + cAddr + "  no         no\n",
		"  ID   PROTOCOL  STATE         B          C\n",
		"  TX1  2PC       COMMITTED     COMMITTED  COMMITTED*\n",
		"  *: as the coordinator recorded it, not confirmed by the participant",
		"  T3   3PC       PRECOMMITTED  READY      -\n",
		"  READY: voted yes, waiting for the outcome: blocked/in doubt\n",
		"\nparticipant B\n  alpha    x y\n  balance  1000\n  not final: T3 (READY)\n",
		"\nparticipant C: down: cannot reach participant at " + cAddr,
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	clearEnv(t)
	addr := closedAddr(t)
	r := txcli(t, dialWire, "--coord", addr, "status")
	if r.code != exitError || r.out != "" {
		t.Errorf("exit %d, stdout %q", r.code, r.out)
	}
	oneErrLine(t, r, "cannot reach coordinator at "+addr)

	r = txcli(t, dialWire, "--participant", addr, "status")
	oneErrLine(t, r, "cannot reach participant at "+addr)

	// --participant wins over TXCLI_COORD.
	t.Setenv("TXCLI_COORD", serve(t, coordinator(wire.StateCommitted, "")))
	b := serve(t, participantB())
	r = txcli(t, dialWire, "--json", "status", "--participant", b)
	if m := decodeJSON(t, r.out); r.code != exitOK || m["id"] != "B" {
		t.Errorf("exit %d, stdout %s, stderr %s", r.code, r.out, r.errOut)
	}
}

func TestPeerAddr(t *testing.T) {
	for _, tt := range []struct{ addr, coordHost, want string }{
		{"10.0.0.2:8001", "10.0.0.1", "10.0.0.2:8001"},
		{"http://10.0.0.2:8001", "10.0.0.1", "10.0.0.2:8001"},
		{":8001", "10.0.0.1", "10.0.0.1:8001"},
		{"0.0.0.0:8001", "10.0.0.1", "10.0.0.1:8001"},
		{"[::]:8001", "coord.example", "coord.example:8001"},
		{"b.example:8001", "10.0.0.1", "b.example:8001"},
	} {
		got, err := peerAddr(tt.addr, tt.coordHost)
		if err != nil || got != tt.want {
			t.Errorf("peerAddr(%q, %q) = %q, %v; want %q", tt.addr, tt.coordHost, got, err, tt.want)
		}
	}
}

// Issue 16: the cluster view shows what each participant applied, not
// what the coordinator recorded for it.
func TestClusterViewShowsWhatParticipantsApplied(t *testing.T) {
	st := &wire.Status{NodeID: "COORD", Role: wire.RoleCoordinator,
		Participants: []wire.PeerStatus{{ID: "B", Addr: "b:1", Connected: true}, {ID: "C", Addr: "c:1", Connected: true}},
		Transactions: []wire.TxStatus{{TxID: "TX1", Protocol: wire.TwoPC, State: wire.StateCommitted,
			Participants: map[string]wire.State{"B": wire.StateCommitted, "C": wire.StateCommitted}}}}
	peers := []*peerStatus{
		{st: &wire.Status{NodeID: "B", Role: wire.RoleParticipant, Transactions: []wire.TxStatus{{TxID: "TX1", Protocol: wire.TwoPC, State: wire.StateCommitted}}}, addr: "b:1"},
		{st: &wire.Status{NodeID: "C", Role: wire.RoleParticipant, Transactions: []wire.TxStatus{{TxID: "TX1", Protocol: wire.TwoPC, State: wire.StateAborted, Heuristic: true}}}, addr: "c:1"},
	}
	var b bytes.Buffer
	writeCoordinator(&b, st, peers)
	if !strings.Contains(b.String(), "  TX1  2PC       COMMITTED  COMMITTED  ABORTED+H\n") {
		t.Errorf("table:\n%s", b.String())
	}
	js, _ := jsonString(toCoordinatorJSON(st, peers))
	if !strings.Contains(js, `"applied":{"B":"COMMITTED","C":"ABORTED"}`) {
		t.Errorf("JSON %s", js)
	}
}

// --in-doubt and --limit cut the lists down: of the coordinator and of
// each participant.
func TestStatusFilters(t *testing.T) {
	st := func() *wire.Status {
		return &wire.Status{NodeID: "COORD", Role: wire.RoleCoordinator, Transactions: []wire.TxStatus{
			{TxID: "T1", State: wire.StateCommitted, Participants: map[string]wire.State{"B": wire.StateCommitted}},
			{TxID: "T2", State: wire.StateCommitted, Participants: map[string]wire.State{"B": wire.StateReady}},
			{TxID: "T3", State: wire.StateInit, Participants: map[string]wire.State{"B": wire.StateReady}},
			{TxID: "T4", State: wire.StateAborted, Participants: map[string]wire.State{"B": wire.StateAborted}},
		}}
	}
	ids := func(s *wire.Status) string {
		var out []string
		for _, t := range s.Transactions {
			out = append(out, t.TxID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		sc   statusConfig
		want string
	}{
		{statusConfig{}, "T1,T2,T3,T4"},
		{statusConfig{inDoubt: true}, "T2,T3"},
		{statusConfig{limit: 2}, "T3,T4"},
		{statusConfig{inDoubt: true, limit: 1}, "T3"},
	} {
		s := st()
		tc.sc.filter(s)
		if ids(s) != tc.want {
			t.Errorf("%+v: %s, want %s", tc.sc, ids(s), tc.want)
		}
	}
	clearEnv(t)
	if r := txcli(t, noDial(t), "--coord", "c:1", "status", "--limit", "-1"); r.code != exitError || !strings.Contains(r.errOut, "--limit") {
		t.Errorf("negative limit: %+v", r)
	}
}

// Issue 16: status --endpoints shows each node's own view; with the
// coordinator down every participant is there with what it holds in
// doubt, for how long and whose coordinator it waits for.
func TestStatusEndpointsWithCoordinatorDown(t *testing.T) {
	clearEnv(t)
	rcl := &resolveCluster{parts: map[string]wire.State{"B": wire.StateReady, "C": wire.StateReady}}
	r := txcli(t, rcl.dial, "--endpoints", "k:1,b:1,c:1", "status")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}
	for _, want := range []string{"node at k:1: down:", "participant B\n", "participant C\n",
		"IN DOUBT\n  ID   STATE  FOR  COORDINATOR\n  TX1  READY  12s  COORD at k:1\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	r = txcli(t, rcl.dial, "--json", "--endpoints", "k:1,b:1", "status")
	m := decodeJSON(t, r.out)
	nodes := m["nodes"].([]any)
	if len(nodes) != 2 || nodes[0].(map[string]any)["reachable"] != false {
		t.Fatalf("JSON %s", r.out)
	}
	d := nodes[1].(map[string]any)["in_doubt"].([]any)[0].(map[string]any)
	if d["id"] != "TX1" || d["for_ms"].(float64) != 12000 || d["coordinator_addr"] != "k:1" {
		t.Errorf("in doubt %v", d)
	}
	if r := txcli(t, rcl.dial, "--endpoints", "k:1", "status"); r.code != exitError || !strings.Contains(r.errOut, "no node of --endpoints answered") {
		t.Errorf("all down: %+v", r)
	}
}
