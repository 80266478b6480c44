package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// dialAs connects to addr as the client id.
func dialAs(t *testing.T, addr string, id *transport.TLS) *transport.Client {
	t.Helper()
	cl, err := transport.DialClientTLS(context.Background(), addr, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// forbidden checks that err is the node's refusal for role, with code
// ErrForbidden, naming the client and what it may not do.
func forbidden(t *testing.T, err error, what string) {
	t.Helper()
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.ErrForbidden {
		t.Fatalf("%s: %v, want a refusal (%s)", what, err, wire.ErrForbidden)
	}
	if want := `client "ro" holds a read-only certificate: it may not ` + what; !strings.Contains(re.Msg, want) {
		t.Fatalf("refusal %q does not say %q", re.Msg, want)
	}
}

// A read-only client may look but not change: the coordinator refuses its
// Start and a participant its Resolve, each keeping the connection for what
// it may do; an admin client starts and resolves.
func TestTLSReadOnlyClient(t *testing.T) {
	ids := nodetest.NewTLSIDs(t)
	coord := startTLSNodes(t, ids, nil)
	ro := dialAs(t, coord.Addr(), ids.ClientID(t, "ro", certs.RoleReadOnly))
	nodetest.WaitFor(t, 5*time.Second, func() bool { up := connected(t, ro); return up["B"] && up["C"] })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := ro.Start(ctx, "TX1", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}})
	forbidden(t, err, "start a transaction")
	st, err := ro.Status(ctx)
	if err != nil {
		t.Fatalf("status after the refusal, on the same connection: %v", err)
	}
	if len(st.Transactions) != 0 {
		t.Fatalf("a refused Start left transactions: %+v", st.Transactions)
	}
	var bAddr string
	for _, p := range st.Participants {
		if p.ID == "B" {
			bAddr = p.Addr
		}
	}

	// An admin client runs TX1; the read-only one may not resolve it on B.
	admin := dialAs(t, coord.Addr(), ids.ClientID(t, "adm", certs.RoleAdmin))
	if res := startTx(t, admin, "TX1"); res.Outcome != wire.StateCommitted {
		t.Fatalf("admin's TX1: %+v", res)
	}
	roB := dialAs(t, bAddr, ids.ClientID(t, "ro", certs.RoleReadOnly))
	_, err = roB.Resolve(ctx, "TX1", false, false)
	forbidden(t, err, "resolve a transaction")
	if _, err := roB.Status(ctx); err != nil {
		t.Fatalf("status on B after the refusal: %v", err)
	}
	// The admin's Resolve reaches B's state machine: TX1 is decided, so it
	// changes nothing, and says so.
	res, err := dialAs(t, bAddr, ids.ClientID(t, "adm", certs.RoleAdmin)).Resolve(ctx, "TX1", false, false)
	if err != nil || res.State != wire.StateCommitted || res.Applied {
		t.Fatalf("admin's resolve of the committed TX1: %+v, %v", res, err)
	}
}
