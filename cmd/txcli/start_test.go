package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

func TestStartCommitted(t *testing.T) {
	clearEnv(t)
	n := coordinator(wire.StateCommitted, "")
	addr := serve(t, n)
	for _, args := range [][]string{
		{"--coord", "http://" + addr, "--json", "start", "TX1", "2PC", "SET", "balance", "1000"},
		{"--coord", addr, "start", "--json", "TX1", "2pc", "SET", "balance", "1000"},
		{"start", "--coord", addr, "--json", "TX1", "2PC", "SET", "balance", "1000"},
	} {
		r := txcli(t, dialWire, args...)
		if r.code != exitOK {
			t.Fatalf("%v: exit code %d, stderr %s", args, r.code, r.errOut)
		}
		sameJSON(t, r.out, `{"id":"TX1","protocol":"2PC","outcome":"COMMITTED"}`)
		if r.errOut != "" {
			t.Errorf("stderr: %s", r.errOut)
		}
	}
	got := n.received()[0]
	want := []wire.Op{{Kind: wire.OpSet, Key: "balance", Value: "1000"}}
	if got.TxID != "TX1" || got.Protocol != wire.TwoPC || !slices.EqualFunc(got.Ops, want, func(a, b wire.Op) bool { return a.String() == b.String() }) {
		t.Errorf("coordinator received %+v", got)
	}

	r := txcli(t, dialWire, "--coord", addr, "start", "TX1", "2PC", "SET", "balance", "1000")
	if r.code != exitOK || r.out != "TX1 (2PC): COMMITTED\n" {
		t.Errorf("human: exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
}

func TestStartAborted(t *testing.T) {
	clearEnv(t)
	n := coordinator(wire.StateAborted, "B: balance would be -200")
	addr := serve(t, n)
	t.Setenv("TXCLI_COORD", addr)
	t.Setenv("TXCLI_JSON", "true")
	r := txcli(t, dialWire, "start", "T2", "2PC", "B:ADD", "balance", "-100", "C:ADD", "balance", "100")
	if r.code != exitAborted {
		t.Fatalf("exit code %d, want 1; stderr %s", r.code, r.errOut)
	}
	sameJSON(t, r.out, `{"id":"T2","protocol":"2PC","outcome":"ABORTED","reason":"B: balance would be -200"}`)
	ops := n.received()[0].Ops
	if len(ops) != 2 || ops[0].String() != "B:ADD balance -100" || ops[1].String() != "C:ADD balance 100" {
		t.Errorf("ops %v", ops)
	}

	r = txcli(t, dialWire, "start", "--json=false", "T2", "2PC", "B:ADD", "balance", "-100")
	if r.code != exitAborted || r.out != "T2 (2PC): ABORTED (B: balance would be -200)\n" {
		t.Errorf("human: exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
}

func TestStartRefused(t *testing.T) {
	clearEnv(t)
	n := &testNode{
		self: wire.HelloAck{NodeID: "COORD", Role: wire.RoleCoordinator},
		onStart: func(c *transport.Conn, m *wire.Start) {
			c.Send(&wire.Error{ReqID: m.ReqID, Code: wire.ErrBusy, Msg: "too many transactions in flight"})
		},
	}
	addr := serve(t, n)
	r := txcli(t, dialWire, "--coord", addr, "--json", "start", "TX1", "2PC", "SET", "k", "v")
	if r.code != exitError {
		t.Fatalf("exit code %d, want 2", r.code)
	}
	sameJSON(t, r.out, `{"id":"TX1","protocol":"2PC","error":"too many transactions in flight","code":"busy"}`)
	oneErrLine(t, r, "too many transactions in flight")
}

func TestStartOnParticipant(t *testing.T) {
	clearEnv(t)
	addr := serve(t, participantB())
	r := txcli(t, dialWire, "--coord", addr, "start", "TX1", "2PC", "SET", "k", "v")
	if r.code != exitError || r.out != "" {
		t.Fatalf("exit code %d, stdout %q", r.code, r.out)
	}
	oneErrLine(t, r, "is participant B, not a coordinator")
}

func TestStartUnreachable(t *testing.T) {
	clearEnv(t)
	addr := closedAddr(t)
	begin := time.Now()
	r := txcli(t, dialWire, "--coord", addr, "start", "TX1", "2PC", "SET", "k", "v")
	if r.code != exitError || r.out != "" {
		t.Fatalf("exit code %d, stdout %q", r.code, r.out)
	}
	oneErrLine(t, r, "cannot reach coordinator at "+addr+": ")
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("took %v", d)
	}

	r = txcli(t, dialWire, "--coord", addr, "--json", "start", "TX1", "2PC", "SET", "k", "v")
	m := decodeJSON(t, r.out)
	if r.code != exitError || m["id"] != "TX1" || m["protocol"] != "2PC" || m["error"] == nil || m["outcome"] != nil {
		t.Errorf("exit %d, JSON %v", r.code, m)
	}
}

func TestStartConnectionLost(t *testing.T) {
	clearEnv(t)
	n := &testNode{
		self:    wire.HelloAck{NodeID: "COORD", Role: wire.RoleCoordinator},
		onStart: func(c *transport.Conn, m *wire.Start) { c.Close() },
	}
	addr := serve(t, n)
	r := txcli(t, dialWire, "--coord", addr, "start", "TX1", "2PC", "SET", "k", "v")
	if r.code != exitError || r.out != "" {
		t.Fatalf("exit code %d, stdout %q", r.code, r.out)
	}
	oneErrLine(t, r, `connection to coordinator lost before TX1's outcome arrived; the outcome is unknown: run "txcli --coord `+addr+` status" (or start TX1 again`)

	r = txcli(t, dialWire, "--coord", addr, "--json", "start", "TX1", "3PC", "SET", "k", "v")
	m := decodeJSON(t, r.out)
	if r.code != exitError || m["id"] != "TX1" || m["protocol"] != "3PC" || m["outcome"] != "UNKNOWN" || !strings.Contains(m["error"].(string), "unknown") {
		t.Errorf("exit %d, JSON %v", r.code, m)
	}
}

func TestStartTimeout(t *testing.T) {
	clearEnv(t)
	n := &testNode{
		self:    wire.HelloAck{NodeID: "COORD", Role: wire.RoleCoordinator},
		onStart: func(*transport.Conn, *wire.Start) {}, // never answers
	}
	addr := serve(t, n)
	begin := time.Now()
	r := txcli(t, dialWire, "--coord", addr, "--timeout", "200ms", "--json", "start", "TX1", "2PC", "SET", "k", "v")
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("took %v with --timeout 200ms", d)
	}
	if r.code != exitError {
		t.Fatalf("exit code %d", r.code)
	}
	oneErrLine(t, r, "no answer from coordinator within 200ms; the outcome is unknown")
	if m := decodeJSON(t, r.out); m["outcome"] != "UNKNOWN" {
		t.Errorf("JSON %v", m)
	}
}

// A dialer or client that ignores its context must not hold txcli past
// --timeout.
func TestTimeoutBoundsStuckClient(t *testing.T) {
	clearEnv(t)
	stuck := make(chan struct{})
	defer close(stuck)
	hang := func(ctx context.Context) (*wire.Status, error) { <-stuck; return nil, context.Canceled }
	f := &fakeCluster{nodes: map[string]*fakeNode{
		"127.0.0.1:2": {hello: coordHello(), status: hang,
			start: func(context.Context, string, wire.Protocol, []wire.Op) (*wire.StartResult, error) {
				<-stuck
				return nil, nil
			}},
	}}
	stuckDial := func(ctx context.Context, addr string) (client, error) {
		if addr == "127.0.0.1:1" {
			<-stuck
		}
		return f.dial(ctx, addr)
	}
	for _, args := range [][]string{
		{"--coord", "127.0.0.1:1", "--timeout", "100ms", "status"},
		{"--coord", "127.0.0.1:2", "--timeout", "100ms", "status"},
		{"--coord", "127.0.0.1:1", "--timeout", "100ms", "start", "TX1", "2PC", "DEL", "k"},
		{"--coord", "127.0.0.1:2", "--timeout", "100ms", "start", "TX1", "2PC", "DEL", "k"},
	} {
		begin := time.Now()
		r := txcli(t, stuckDial, args...)
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("%v: took %v", args, d)
		}
		if r.code != exitError {
			t.Errorf("%v: exit code %d", args, r.code)
		}
		oneErrLine(t, r, "within 100ms")
	}
}

func TestInterrupted(t *testing.T) {
	clearEnv(t)
	// Interrupted once the coordinator has the request (not after a fixed
	// delay, which a loaded machine can spend still dialing): the outcome
	// is then truly unknown to the client.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := &testNode{
		self:    wire.HelloAck{NodeID: "COORD", Role: wire.RoleCoordinator},
		onStart: func(*transport.Conn, *wire.Start) { cancel() },
	}
	addr := serve(t, n)
	var out, errOut strings.Builder
	code := runWith(ctx, []string{"txcli", "--coord", addr, "start", "TX1", "2PC", "DEL", "k"}, streams{&out, &errOut}, dialWire)
	if code != exitError || !strings.Contains(errOut.String(), "interrupted before TX1's outcome arrived; the outcome is unknown") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
