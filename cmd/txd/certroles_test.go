package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// tlsCluster is a cluster of real processes (COORD, B, C) on mutual TLS,
// with the certificates `txd certs` wrote to dir (admin client txcli).
type tlsCluster struct {
	*cluster.Cluster
	dir string
}

// certsRun runs the txd binary's certs command: a process of its own, as
// the tests around it run in parallel (run in-process is not safe to call
// concurrently: urfave/cli shares its help flag).
func certsRun(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(cluster.Shared(t).TXD, append([]string{"certs"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("txd certs %v: %v: %s", args, err, out)
	}
}

func startTLSCluster(t *testing.T) *tlsCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	dir := t.TempDir()
	certsRun(t, "--dir", dir, "--nodes", "COORD,B,C", "--clients", "txcli")
	c := &tlsCluster{cluster.New(t, cluster.Shared(t), cluster.Config{}), dir}
	for _, n := range c.Nodes() {
		n.SetFlag("tls-cert", filepath.Join(dir, n.ID+".crt"))
		n.SetFlag("tls-key", filepath.Join(dir, n.ID+".key"))
		n.SetFlag("tls-ca", filepath.Join(dir, "ca.crt"))
	}
	c.Coord.SetFlag("participants", "B="+c.Part("B").Addr()+",C="+c.Part("C").Addr())
	// Launched, not Started: the harness's readiness check runs txcli
	// without a certificate, which these nodes refuse.
	for _, n := range append(c.Parts, c.Coord) {
		if err := n.Launch(); err != nil {
			t.Fatal(err)
		}
	}
	c.waitPeer("B", true)
	c.waitPeer("C", true)
	return c
}

// as runs txcli with the certificate of client name and args.
func (c *tlsCluster) as(name string, args ...string) cluster.Result {
	c.T.Helper()
	return c.Txcli(append([]string{"--tls-cert", filepath.Join(c.dir, name+".crt"), "--tls-key", filepath.Join(c.dir, name+".key"),
		"--tls-ca", filepath.Join(c.dir, "ca.crt"), "--timeout", "5s"}, args...)...)
}

// waitPeer waits until the coordinator reports participant id connected,
// or not.
func (c *tlsCluster) waitPeer(id string, up bool) {
	c.T.Helper()
	cluster.Eventually(c.T, waitTimeout, fmt.Sprintf("COORD sees %s connected=%v", id, up), func() error {
		r := c.as("txcli", "--coord", c.Coord.Addr(), "--json", "status")
		var st cluster.CoordOut
		if err := json.Unmarshal([]byte(r.Stdout), &st); r.Code != 0 || err != nil {
			return fmt.Errorf("%v (%v)", r, err)
		}
		if p, ok := st.Peer(id); !ok || p.Connected != up {
			return fmt.Errorf("participants %+v", st.Participants)
		}
		return nil
	})
}

// A client added later with --role read-only: txcli start and resolve are
// refused (exit 2, code forbidden, saying why) and change nothing; its
// status works. The admin client txcli, minted with the CA, runs.
func TestCertReadOnlyTxcli(t *testing.T) {
	c := startTLSCluster(t)
	certsRun(t, "--dir", c.dir, "--add-clients", "ops", "--role", "read-only")
	coord, b := c.Coord.Addr(), c.Part("B").Addr()

	if r := c.as("txcli", "--coord", coord, "start", "T1", "2PC", "SET", "k", "v"); r.Code != 0 {
		t.Fatalf("admin start: %v", r)
	}
	r := c.as("ops", "--coord", coord, "--json", "start", "T2", "2PC", "SET", "k", "w")
	var out cluster.StartOut
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || r.Code != 2 || out.Code != string(wire.ErrForbidden) {
		t.Fatalf("read-only start: want exit 2 and code forbidden: %v (%v)", r, err)
	}
	if want := `client "ops" holds a read-only certificate: it may not start a transaction`; !strings.Contains(r.Stderr, want) || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("read-only start: stderr is not one line saying %q: %v", want, r)
	}
	r = c.as("ops", "--participant", b, "resolve", "--yes", "--force", "T1", "commit") // past txcli's own checks: B says forbidden
	if r.Code != 2 || !strings.Contains(r.Stderr, "may not resolve a transaction") || !strings.Contains(r.Stderr, "forbidden") {
		t.Fatalf("read-only resolve: want exit 2, forbidden: %v", r)
	}

	// Reads work, and show that nothing changed.
	r = c.as("ops", "--participant", b, "--json", "status")
	var st cluster.ParticipantOut
	if err := json.Unmarshal([]byte(r.Stdout), &st); r.Code != 0 || err != nil {
		t.Fatalf("read-only status of B: %v (%v)", r, err)
	}
	if tx, ok := st.Tx("T1"); !ok || tx.State != "COMMITTED" || st.Store["k"] != "v" {
		t.Fatalf("B after the refusals: %+v", st)
	}
	if _, ok := st.Tx("T2"); ok {
		t.Fatalf("B knows the refused T2: %+v", st)
	}
	if r := c.as("ops", "--coord", coord, "status"); r.Code != 0 {
		t.Fatalf("read-only status of COORD: %v", r)
	}
}

// B's certificate renewed with --renew B: B restarts with the new files and
// COORD and C, which keep theirs, accept it; a transaction on B commits.
func TestCertRenewedNodeTLS(t *testing.T) {
	c := startTLSCluster(t)
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(c.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := map[string][]byte{}
	for _, f := range []string{"B.crt", "B.key", "C.crt", "COORD.crt", "txcli.crt", "ca.crt", "ca.key"} {
		before[f] = read(f)
	}
	certsRun(t, "--dir", c.dir, "--renew", "B")
	for f, old := range before {
		changed := !bytes.Equal(read(f), old)
		if renewed := strings.HasPrefix(f, "B."); changed != renewed {
			t.Errorf("%s: changed %v, want %v", f, changed, renewed)
		}
		if strings.HasPrefix(f, "B.") && !bytes.Equal(read(f+".old"), old) {
			t.Errorf("%s.old does not hold the previous %s", f, f)
		}
	}
	// The old pair is not needed by anyone.
	os.Remove(filepath.Join(c.dir, "B.crt.old"))
	os.Remove(filepath.Join(c.dir, "B.key.old"))

	if err := c.Part("B").Stop(); err != nil {
		t.Fatal(err)
	}
	c.waitPeer("B", false)
	if err := c.Part("B").Launch(); err != nil {
		t.Fatal(err)
	}
	c.waitPeer("B", true)

	// B serves the renewed certificate.
	renewed, err := certs.ParseCert(read("B.crt"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := transport.LoadTLS(filepath.Join(c.dir, "txcli.crt"), filepath.Join(c.dir, "txcli.key"), filepath.Join(c.dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := transport.DialWith(ctx, c.Part("B").Addr(), wire.Hello{NodeID: "txcli", Role: wire.RoleClient}, nil, transport.DialOptions{TLS: id})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := conn.PeerCertificate(); got == nil || got.SerialNumber.Cmp(renewed.SerialNumber) != 0 {
		t.Fatalf("B presents serial %v, want the renewed %v", got.SerialNumber, renewed.SerialNumber)
	}

	r := c.as("txcli", "--coord", c.Coord.Addr(), "--json", "start", "T1", "2PC", "SET", "k", "v")
	var out cluster.StartOut
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || r.Code != 0 || out.Outcome != "COMMITTED" {
		t.Fatalf("a transaction on the renewed B and on C: %v (%v)", r, err)
	}
}
