package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// tlsFiles writes a CA and certificates for names into a temporary
// directory and returns it.
func tlsFiles(t *testing.T, ca *certs.CA, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", ca.CertPEM())
	for _, n := range names {
		cert, key, err := ca.Issue(n, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		write(n+".crt", cert)
		write(n+".key", key)
	}
	return dir
}

func clearTLSEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"TXCLI_TLS_CERT", "TXCLI_TLS_KEY", "TXCLI_TLS_CA"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// A partial TLS setup is a usage error, never a silent fall back to plain
// TCP; so is one that does not load.
func TestTLSFlagErrors(t *testing.T) {
	clearEnv(t)
	clearTLSEnv(t)
	ca, err := certs.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := tlsFiles(t, ca, "ops")
	cert, key, caFile := filepath.Join(dir, "ops.crt"), filepath.Join(dir, "ops.key"), filepath.Join(dir, "ca.crt")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"cert only", []string{"--tls-cert", cert, "--coord", "h:1", "status"}, "--tls-key and --tls-ca missing"},
		{"no CA", []string{"--tls-cert", cert, "--tls-key", key, "--coord", "h:1", "status"}, "--tls-ca missing"},
		{"after the command", []string{"--coord", "h:1", "start", "--tls-ca", caFile, "TX1", "2PC", "SET", "k", "v"}, "--tls-cert and --tls-key missing"},
		{"missing file", []string{"--tls-cert", cert, "--tls-key", key, "--tls-ca", filepath.Join(dir, "nope"), "--coord", "h:1", "status"}, "nope"},
		{"key for the CA", []string{"--tls-cert", cert, "--tls-key", caFile, "--tls-ca", caFile, "--coord", "h:1", "status"}, "certificate and key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := txcli(t, noDial(t), tt.args...)
			if r.code != exitError {
				t.Errorf("exit code %d, want %d", r.code, exitError)
			}
			oneErrLine(t, r, tt.want)
		})
	}

	t.Run("environment", func(t *testing.T) {
		t.Setenv("TXCLI_TLS_KEY", key)
		r := txcli(t, noDial(t), "--coord", "h:1", "status")
		if r.code != exitError {
			t.Errorf("exit code %d, want %d", r.code, exitError)
		}
		oneErrLine(t, r, "--tls-cert and --tls-ca missing")
	})
}

// With the three flags txcli talks mutual TLS to the node, named by its
// certificate.
func TestTLSStatus(t *testing.T) {
	clearEnv(t)
	clearTLSEnv(t)
	ca, err := certs.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := tlsFiles(t, ca, "ops", "B")
	nodeID, err := transport.LoadTLS(filepath.Join(dir, "B.crt"), filepath.Join(dir, "B.key"), filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	n := participantB()
	hellos := make(chan wire.Hello, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := transport.NewServer(ln, transport.ServerConfig{Self: n.self, Handler: n, TLS: nodeID,
		Accept: func(h *wire.Hello) error { hellos <- *h; return nil }})
	go s.Serve()
	defer s.Close()

	t.Setenv("TXCLI_TLS_CA", filepath.Join(dir, "ca.crt"))
	r := txcli(t, dialWire, "--tls-cert", filepath.Join(dir, "ops.crt"), "--tls-key", filepath.Join(dir, "ops.key"),
		"--participant", ln.Addr().String(), "--json", "status")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	if h := <-hellos; h.NodeID != "ops" || h.Role != wire.RoleClient {
		t.Fatalf("node saw Hello %+v", h)
	}

	// Without them the node refuses txcli, and says why.
	clearTLSEnv(t)
	r = txcli(t, dialWire, "--participant", ln.Addr().String(), "status")
	if r.code != exitError {
		t.Fatalf("plain txcli: exit %d", r.code)
	}
	oneErrLine(t, r, "requires TLS")
}
