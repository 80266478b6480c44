package main

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/txd/txd/internal/certs"
)

// certsCmd runs txd certs in-process; it returns the exit code and the
// output.
func certsCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"txd", "certs"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// snapshot is every file in dir with its contents and mode.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = fi.Mode().String() + " " + string(b)
	}
	return files
}

// member reads NAME.crt in dir and checks that ca.crt there verifies it.
func member(t *testing.T, dir, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := certs.ParseCert(b)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	if c.Subject.CommonName != name {
		t.Errorf("%s: CommonName %q", name, c.Subject.CommonName)
	}
	return c
}

func TestCertsAddAndRenew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if code, _, errs := certsCmd("--dir", dir, "--nodes", "COORD,B,C", "--clients", "txcli"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if r := certs.RoleOf(member(t, dir, "txcli")); r != certs.RoleAdmin {
		t.Errorf("txcli: role %q, want admin (the default)", r)
	}
	first := snapshot(t, dir)

	code, out, errs := certsCmd("--dir", dir, "--add-nodes", "D", "--add-clients", "ops,audit", "--role", "read-only")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, errs)
	}
	for _, want := range []string{"Added D, ops, audit to the CA in " + dir, "--id D --tls-cert " + filepath.Join(dir, "D.crt"),
		"ops (role read-only): txcli --tls-cert " + filepath.Join(dir, "ops.crt")} {
		if !strings.Contains(out, want) {
			t.Errorf("add: output does not show %q:\n%s", want, out)
		}
	}
	for name, want := range map[string]certs.Role{"D": "", "ops": certs.RoleReadOnly, "audit": certs.RoleReadOnly} {
		if r := certs.RoleOf(member(t, dir, name)); r != want {
			t.Errorf("%s: role %q, want %q", name, r, want)
		}
	}
	now := snapshot(t, dir)
	for f, v := range first {
		if now[f] != v {
			t.Errorf("add changed %s", f)
		}
	}
	if len(now) != len(first)+6 {
		t.Errorf("add wrote %d files, want 6", len(now)-len(first))
	}

	// Renewed twice: each time the previous pair moves to .old, and a
	// client keeps its role.
	for range 2 {
		prev := snapshot(t, dir)
		code, out, errs = certsCmd("--dir", dir, "--renew", "B,ops")
		if code != 0 {
			t.Fatalf("renew: exit %d: %s", code, errs)
		}
		if !strings.Contains(out, "Renewed B: new B.crt and B.key in "+dir+"; the previous ones are now B.crt.old and B.key.old.") ||
			!strings.Contains(out, "no other member needs anything") {
			t.Errorf("renew output:\n%s", out)
		}
		now = snapshot(t, dir)
		for f, v := range prev {
			renewed := strings.HasPrefix(f, "B.") || strings.HasPrefix(f, "ops.")
			if strings.HasSuffix(f, ".old") {
				continue
			}
			if changed := now[f] != v; changed != renewed {
				t.Errorf("renew: %s changed %v, want %v", f, changed, renewed)
			}
			if renewed && now[f+".old"] != v {
				t.Errorf("renew: %s.old does not hold the previous %s", f, f)
			}
		}
		if r := certs.RoleOf(member(t, dir, "ops")); r != certs.RoleReadOnly {
			t.Errorf("renewed ops: role %q, want read-only", r)
		}
		if r := certs.RoleOf(member(t, dir, "B")); r != "" {
			t.Errorf("renewed B: role %q, want none", r)
		}
		for _, f := range []string{"B.key", "B.key.old", "ops.key"} {
			if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v %v, want mode 0600", f, fi.Mode(), err)
			}
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".*")); len(entries) != 0 {
		t.Errorf("renew left files behind: %v", entries)
	}
}

// Bad input: one line, exit 2, and not a file written or changed.
func TestCertsExtendErrors(t *testing.T) {
	root := t.TempDir()
	dir, other, foreign := filepath.Join(root, "certs"), filepath.Join(root, "other"), filepath.Join(root, "foreign")
	for _, d := range []string{dir, other, foreign} {
		if code, _, errs := certsCmd("--dir", d, "--nodes", "B", "--clients", "txcli"); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
	}
	read := func(path string) []byte {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// dir/X.crt is a certificate for B; foreign/B.crt is B's of another CA.
	write(filepath.Join(dir, "X.crt"), read(filepath.Join(other, "B.crt")))
	write(filepath.Join(foreign, "B.crt"), read(filepath.Join(other, "B.crt")))
	noKey, mismatched := filepath.Join(root, "nokey"), filepath.Join(root, "mismatched")
	for _, d := range []string{noKey, mismatched} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(d, "ca.crt"), read(filepath.Join(dir, "ca.crt")))
	}
	write(filepath.Join(mismatched, "ca.key"), read(filepath.Join(other, "ca.key")))

	before := snapshot(t, dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dir", filepath.Join(root, "none"), "--add-nodes", "D"}, "no CA there (no ca.crt)"},
		{[]string{"--dir", noKey, "--renew", "B"}, "ca.crt but no ca.key"},
		{[]string{"--dir", mismatched, "--add-nodes", "D"}, "does not belong to the CA certificate"},
		{[]string{"--dir", dir, "--renew", "Q"}, "--renew Q: no Q.crt in " + dir + ", so no such member (members: B, X, txcli)"},
		{[]string{"--dir", dir, "--renew", "X"}, "--renew X: " + filepath.Join(dir, "X.crt") + ` is a certificate for "B"`},
		{[]string{"--dir", foreign, "--renew", "B"}, "--renew B: " + filepath.Join(foreign, "B.crt") + " was not signed by the CA in " + foreign},
		{[]string{"--dir", dir, "--renew", "ca"}, `name "ca" is taken`},
		{[]string{"--dir", dir, "--add-clients", "ops", "--role", "root"}, `--role: role "root": want admin or read-only`},
		{[]string{"--dir", dir, "--add-nodes", "D", "--role", "read-only"}, "--role is for clients"},
		{[]string{"--dir", dir, "--renew", "txcli", "--role", "read-only"}, "--renew keeps each member's role"},
		{[]string{"--dir", dir, "--add-nodes", "D", "--nodes", "E"}, "not both in one run"},
		{[]string{"--dir", dir, "--add-nodes", ","}, "no names given"},
		{[]string{"--dir", dir, "--add-clients", "D", "--add-nodes", "D"}, `name "D" given twice`},
		{[]string{"--dir", dir, "--add-nodes", "D,txcli"}, filepath.Join(dir, "txcli.crt") + " exists: refusing to overwrite it (to re-issue an existing member's certificate, use --renew NAME)"},
		{[]string{"--dir", dir, "--add-nodes", "b"}, `name "b" clashes with member "B"`},
		{[]string{"--dir", dir, "--nodes", "D"}, filepath.Join(dir, "ca.crt") + " exists: refusing to overwrite it"},
	} {
		code, _, errs := certsCmd(tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line mentioning %q", tc.args, code, errs, tc.want)
		}
	}
	if after := snapshot(t, dir); len(after) != len(before) {
		t.Errorf("files after the refusals: %d, before: %d", len(after), len(before))
	} else {
		for f, v := range before {
			if after[f] != v {
				t.Errorf("%s changed by a refused run", f)
			}
		}
	}
}

// A client's certificate (one with a role) is refused to a node at start:
// its peers would refuse it at every handshake.
func TestTLSNodeWithClientCert(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := certsCmd("--dir", dir, "--nodes", "B", "--clients", "ops"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var out, errb bytes.Buffer
	code := run([]string{"txd", "participant", "--id", "ops", "--port", "1", "--wal", filepath.Join(dir, "x.wal"),
		"--tls-cert", filepath.Join(dir, "ops.crt"), "--tls-key", filepath.Join(dir, "ops.key"), "--tls-ca", filepath.Join(dir, "ca.crt")}, &out, &errb)
	if want := "--tls-cert is a client's certificate (role admin)"; code != 2 || !strings.Contains(errb.String(), want) {
		t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errb.String(), want)
	}
}
