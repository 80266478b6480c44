package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out, errb bytes.Buffer
	if code := run([]string{"txd", "certs", "--dir", dir, "--nodes", "COORD,B,C", "--clients", "txcli"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"--id B --tls-cert " + filepath.Join(dir, "B.crt") + " --tls-key " + filepath.Join(dir, "B.key") + " --tls-ca " + filepath.Join(dir, "ca.crt"),
		"txcli --tls-cert " + filepath.Join(dir, "txcli.crt"),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not show %q:\n%s", want, out.String())
		}
	}

	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	for _, name := range []string{"COORD", "B", "C", "txcli"} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		leaf := pair.Leaf
		if leaf.Subject.CommonName != name {
			t.Errorf("%s: CommonName %q", name, leaf.Subject.CommonName)
		}
		if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", name, leaf.PublicKey)
		}
		if d := time.Until(leaf.NotAfter); d < 364*24*time.Hour || d > 366*24*time.Hour {
			t.Errorf("%s: valid until %v, want a year from now", name, leaf.NotAfter)
		}
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("%s: usage %v: %v", name, usage, err)
			}
		}
		if fi, err := os.Stat(filepath.Join(dir, name+".key")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s.key: %v %v, want mode 0600", name, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ca.key: %v %v, want mode 0600", fi.Mode(), err)
	}

	// Never overwritten, not even in part: D's files are not written either.
	out.Reset()
	errb.Reset()
	if code := run([]string{"txd", "certs", "--dir", dir, "--nodes", "D,B"}, &out, &errb); code != 2 {
		t.Fatalf("second run: exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), "refusing to overwrite") {
		t.Errorf("stderr %q", errb.String())
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "ca.crt")); !bytes.Equal(again, caPEM) {
		t.Error("ca.crt was overwritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "D.crt")); err == nil {
		t.Error("D.crt written by a run that refused")
	}
}

// The TLS flags, and certs' own: one clear line and exit 2.
func TestTLSUsageErrors(t *testing.T) {
	dir := t.TempDir()
	wal := filepath.Join(dir, "x.wal")
	var out, errb bytes.Buffer
	if code := run([]string{"txd", "certs", "--dir", dir, "--nodes", "B"}, &out, &errb); code != 0 {
		t.Fatalf("certs: exit %d: %s", code, errb.String())
	}
	cert, key, ca := filepath.Join(dir, "B.crt"), filepath.Join(dir, "B.key"), filepath.Join(dir, "ca.crt")
	node := []string{"participant", "--port", "1", "--wal", wal}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(node, "--id", "B", "--tls-cert", cert), "--tls-key and --tls-ca missing"},
		{append(node, "--id", "B", "--tls-cert", cert, "--tls-key", key), "--tls-ca missing"},
		{[]string{"coordinator", "--id", "B", "--port", "1", "--wal", wal, "--participants", "a:1", "--tls-ca", ca}, "--tls-cert and --tls-key missing"},
		{append(node, "--id", "C", "--tls-cert", cert, "--tls-key", key, "--tls-ca", ca), `--tls-cert is for "B" but --id is "C"`},
		{append(node, "--id", "B", "--tls-cert", cert, "--tls-key", ca, "--tls-ca", ca), "certificate and key"},
		{append(node, "--id", "B", "--tls-cert", cert, "--tls-key", key, "--tls-ca", filepath.Join(dir, "nope")), "nope"},
		{[]string{"certs", "--dir", dir}, "nothing to do"},
		{[]string{"certs", "--dir", dir, "--nodes", "B/x"}, `name "B/x"`},
		{[]string{"certs", "--dir", dir, "--nodes", "B,C", "--clients", "B"}, `name "B" given twice`},
		{[]string{"certs", "--dir", dir, "--nodes", "CA"}, `name "ca" is taken`},
	} {
		out.Reset()
		errb.Reset()
		code := run(append([]string{"txd"}, tc.args...), &out, &errb)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", tc.args, code, errb.String())
		}
		if !strings.Contains(errb.String(), tc.want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: stderr %q is not one line mentioning %q", tc.args, errb.String(), tc.want)
		}
	}

	t.Setenv("TXD_TLS_KEY", key)
	errb.Reset()
	if code := run(append([]string{"txd"}, append(node, "--id", "B")...), &out, &errb); code != 2 || !strings.Contains(errb.String(), "--tls-cert and --tls-ca missing") {
		t.Errorf("TXD_TLS_KEY alone: exit %d, stderr %q", code, errb.String())
	}
}

func TestPlaintextWarning(t *testing.T) {
	for _, tc := range []struct {
		host string
		warn bool
	}{{"0.0.0.0", true}, {"", true}, {"10.0.0.5", true}, {"::", true}, {"db.internal", true},
		{"127.0.0.1", false}, {"127.0.1.1", false}, {"::1", false}, {"localhost", false}} {
		var b bytes.Buffer
		warnPlaintext(slog.New(slog.NewTextHandler(&b, nil)), tc.host, nil)
		if got := strings.Contains(b.String(), "level=WARN") && strings.Contains(b.String(), "NO TLS"); got != tc.warn {
			t.Errorf("host %q: warned %v, want %v (%q)", tc.host, got, tc.warn, b.String())
		}
	}
}
