package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// startTLSNodes starts participants B and C and a coordinator over mutual
// TLS; B's identity is bID (nil: one from the cluster's CA).
func startTLSNodes(t *testing.T, ids nodetest.TLSIDs, bID *transport.TLS) *coordinator.Node {
	t.Helper()
	dir := t.TempDir()
	fatal := func(err error) { t.Errorf("node stopped: %v", err) }
	if bID == nil {
		bID = ids.ID(t, "B")
	}
	var addrs []string
	for _, p := range []struct {
		id  string
		tls *transport.TLS
	}{{"B", bID}, {"C", ids.ID(t, "C")}} {
		n, err := participant.Start(participant.Config{NodeID: p.id, Listen: "127.0.0.1:0", WAL: filepath.Join(dir, p.id+".wal"),
			Timeout: 200 * time.Millisecond, Logger: nodetest.QuietLogger(), Fatal: fatal, TLS: p.tls})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		addrs = append(addrs, p.id+"="+n.Addr())
	}
	c, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: addrs,
		WAL: filepath.Join(dir, "coord.wal"), Timeout: time.Second, Retry: 50 * time.Millisecond,
		Logger: nodetest.QuietLogger(), Fatal: fatal, TLS: ids.ID(t, "COORD")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connected reports which participants the coordinator has a connection to.
func connected(t *testing.T, cl *transport.Client) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	up := map[string]bool{}
	for _, p := range st.Participants {
		up[p.ID] = p.Connected
	}
	return up
}

func startTx(t *testing.T, cl *transport.Client, txid string) *wire.StartResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.Start(ctx, txid, wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A cluster and its client all on mutual TLS: a transaction commits.
func TestTLSClusterCommits(t *testing.T) {
	ids := nodetest.NewTLSIDs(t)
	coord := startTLSNodes(t, ids, nil)
	cl, err := transport.DialClientTLS(context.Background(), coord.Addr(), ids.ID(t, "ops"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	nodetest.WaitFor(t, 5*time.Second, func() bool { up := connected(t, cl); return up["B"] && up["C"] })
	if res := startTx(t, cl, "TX1"); res.Outcome != wire.StateCommitted {
		t.Fatalf("TX1: %+v", res)
	}

	// Without a certificate the coordinator takes no transaction.
	if plain, err := transport.DialClient(context.Background(), coord.Addr()); err == nil {
		plain.Close()
		t.Fatal("a client without a certificate was accepted")
	}
}

// A participant whose certificate another CA signed is never connected:
// the coordinator refuses it and it refuses the coordinator, so a
// transaction aborts: B is unreachable (or, before a redial, sends no vote).
func TestTLSParticipantOfAnotherCA(t *testing.T) {
	ids := nodetest.NewTLSIDs(t)
	coord := startTLSNodes(t, ids, nodetest.NewTLSIDs(t).ID(t, "B"))
	cl, err := transport.DialClientTLS(context.Background(), coord.Addr(), ids.ID(t, "ops"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	nodetest.WaitFor(t, 5*time.Second, func() bool { return connected(t, cl)["C"] })

	res := startTx(t, cl, "TX1")
	// Known unreachable (its handshake refused), or, if the coordinator
	// had not yet redialled it, no vote.
	if res.Outcome != wire.StateAborted || !(strings.Contains(res.Reason, "participant B unreachable") &&
		strings.Contains(res.Reason, "unknown authority") || strings.Contains(res.Reason, "no vote from B")) {
		t.Fatalf("TX1: %+v, want ABORTED for B unreachable (unknown authority) or no vote from B", res)
	}
	if connected(t, cl)["B"] {
		t.Fatal("the coordinator is connected to a participant of another CA")
	}
}
