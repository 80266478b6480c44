package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Issue 12, hole 1. Over mutual TLS, with participants that accept only
// COORD, a connection holding participant B's certificate (a fake B) tells
// participant C the outcome of transactions whose coordinator is alive,
// deciding slowly (--delay 4s):
//   - T1 (2PC): every member votes YES; fake B says ABORT.
//   - T2 (3PC): B votes NO; fake B says COMMIT.
//   - T3 (2PC): every member votes YES; fake B answers a question C never
//     asked: ABORTED.
//
// C refuses each (a "forbidden" Error, a warning in its log), and ends with
// the coordinator's outcome, as B does.
func TestPeerDecisionRefusedUnderTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	certs := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"txd", "certs", "--dir", certs, "--nodes", "COORD,B,C", "--clients", "txcli"}, &out, &errb); code != 0 {
		t.Fatalf("txd certs: exit %d: %s", code, errb.String())
	}
	loadID := func(name string) *transport.TLS {
		t.Helper()
		id, err := transport.LoadTLS(filepath.Join(certs, name+".crt"), filepath.Join(certs, name+".key"), filepath.Join(certs, "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	c := cluster.New(t, cluster.Shared(t), cluster.Config{CoordDelay: 4 * time.Second})
	for _, n := range c.Nodes() {
		n.SetFlag("tls-cert", filepath.Join(certs, n.ID+".crt"))
		n.SetFlag("tls-key", filepath.Join(certs, n.ID+".key"))
		n.SetFlag("tls-ca", filepath.Join(certs, "ca.crt"))
	}
	for _, p := range c.Parts {
		p.SetFlag("coordinator", "COORD")
	}
	c.Coord.SetFlag("participants", "B="+c.Part("B").Addr()+",C="+c.Part("C").Addr())
	// Launched, not Started: the cluster's readiness checks run txcli
	// without a certificate, which these nodes refuse.
	for _, n := range append(c.Parts, c.Coord) {
		if err := n.Launch(); err != nil {
			t.Fatal(err)
		}
	}

	ctx := context.Background()
	client := func(n *cluster.Node) *transport.Client {
		t.Helper()
		var cl *transport.Client
		cluster.Eventually(t, 10*time.Second, n.ID+" serves over TLS", func() error {
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			var err error
			cl, err = transport.DialClientTLS(dctx, n.Addr(), loadID("txcli"))
			return err
		})
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	coordCl, bCl, cCl := client(c.Coord), client(c.Part("B")), client(c.Part("C"))
	status := func(cl *transport.Client) (*wire.Status, error) {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return cl.Status(sctx)
	}
	stateOf := func(cl *transport.Client, tx string) (wire.State, error) {
		st, err := status(cl)
		if err != nil {
			return "", err
		}
		for _, s := range st.Transactions {
			if s.TxID == tx {
				return s.State, nil
			}
		}
		return "", nil
	}
	cluster.Eventually(t, 10*time.Second, "COORD connected to B and C", func() error {
		st, err := status(coordCl)
		if err != nil {
			return err
		}
		for _, id := range []string{"B", "C"} {
			up := false
			for _, p := range st.Participants {
				up = up || (p.ID == id && p.Connected)
			}
			if !up {
				return fmt.Errorf("%s not connected: %+v", id, st.Participants)
			}
		}
		return nil
	})

	rec := make(chan wire.Message, 8)
	fakeB, err := transport.DialWith(ctx, c.Part("C").Addr(), wire.Hello{NodeID: "B", Role: wire.RoleParticipant}, chanHandler(rec),
		transport.DialOptions{TLS: loadID("B"), ExpectID: "C"})
	if err != nil {
		t.Fatalf("B's certificate, dialing C: %v", err)
	}
	defer fakeB.Close()

	type attack struct {
		tx    string
		proto wire.Protocol
		ops   []wire.Op
		lie   wire.Message
		want  wire.State // the coordinator's outcome
	}
	set := func(target, key string) wire.Op {
		return wire.Op{Target: target, Kind: wire.OpSet, Key: key, Value: "v"}
	}
	attacks := []attack{
		{"T1", wire.TwoPC, []wire.Op{set("B", "k1"), set("C", "k1")},
			&wire.Decision{TxID: "T1", Reason: "B says so"}, wire.StateCommitted},
		// B votes NO: ADD on a missing key would make it negative.
		{"T2", wire.ThreePC, []wire.Op{{Target: "B", Kind: wire.OpAdd, Key: "balance", Delta: -500}, set("C", "k2")},
			&wire.Decision{TxID: "T2", Commit: true}, wire.StateAborted},
		{"T3", wire.TwoPC, []wire.Op{set("B", "k3"), set("C", "k3")},
			&wire.QueryReply{TxID: "T3", From: "B", State: wire.StateAborted}, wire.StateCommitted},
	}
	results := make(chan string, len(attacks))
	for _, a := range attacks {
		go func() {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			r, err := coordCl.Start(sctx, a.tx, a.proto, a.ops)
			if err != nil {
				results <- fmt.Sprintf("%s: %v", a.tx, err)
				return
			}
			results <- fmt.Sprintf("%s: %s", a.tx, r.Outcome)
		}()
	}
	for _, a := range attacks {
		cluster.Eventually(t, 10*time.Second, "C READY on "+a.tx, func() error {
			st, err := stateOf(cCl, a.tx)
			if err == nil && st != wire.StateReady {
				err = fmt.Errorf("%s is %q on C", a.tx, st)
			}
			return err
		})
		// The coordinator is alive and has not sent its decision (--delay).
		if err := fakeB.Send(a.lie); err != nil {
			t.Fatal(err)
		}
		// Then ask C about it on the same connection: C handles a
		// connection's messages in order, so its answer comes after
		// whatever it made of the lie.
		if err := fakeB.Send(&wire.Query{TxID: a.tx, From: "B"}); err != nil {
			t.Fatal(err)
		}
		refused := false
	answers:
		for {
			select {
			case m := <-rec:
				switch m := m.(type) {
				case *wire.Error:
					refused = refused || m.Code == wire.ErrForbidden
				case *wire.QueryReply:
					if m.State != wire.StateReady {
						t.Errorf("%s: C obeyed fake B's %s: it is %s there; the coordinator has not sent its decision yet", a.tx, a.lie.Type(), m.State)
					}
					break answers
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: C did not answer fake B's Query", a.tx)
			}
		}
		if !refused {
			t.Errorf("%s: C did not refuse fake B's %s with a forbidden Error", a.tx, a.lie.Type())
		}
	}
	for _, a := range attacks {
		for _, n := range []struct {
			id string
			cl *transport.Client
		}{{"C", cCl}, {"B", bCl}, {"COORD", coordCl}} {
			cluster.Eventually(t, 15*time.Second, fmt.Sprintf("%s: %s on %s", a.tx, a.want, n.id), func() error {
				st, err := stateOf(n.cl, a.tx)
				if err == nil && st != a.want {
					if st.Final() {
						t.Fatalf("%s is %s on %s; the coordinator's outcome is %s", a.tx, st, n.id, a.want)
					}
					err = fmt.Errorf("%s is %q on %s", a.tx, st, n.id)
				}
				return err
			})
		}
	}
	for range attacks {
		t.Log(<-results)
	}
	if got := c.Part("C").LogLines("refusing a peer's message", "from=B"); len(got) != len(attacks) {
		t.Errorf("C logged %d refusals, want %d:\n%s", len(got), len(attacks), c.Part("C").LogText())
	}
}
