package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/txd/txd/internal/version"
)

// Bad input: one clear line on stderr and exit 2; never a panic or a hang.
func TestUsageErrors(t *testing.T) {
	wal := filepath.Join(t.TempDir(), "x.wal")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"participant", "--port", "1", "--wal", wal}, `Required flag "id"`},
		{[]string{"participant", "--id", "B/x", "--port", "1", "--wal", wal}, `node id "B/x"`},
		{[]string{"participant", "--id", "B", "--port", "99999", "--wal", wal}, "--port 99999"},
		{[]string{"participant", "--id", "B", "--port", "1", "--wal", wal, "--timeout", "0s"}, "--timeout"},
		{[]string{"participant", "--id", "B", "--port", "1", "--wal", wal, "--log-level", "loud"}, "--log-level"},
		{[]string{"participant", "--id", "B", "--port", "1", "--wal", wal, "--bogus"}, "bogus"},
		{[]string{"coordinator", "--id", "C", "--port", "1", "--wal", wal}, `Required flag "participants"`},
		{[]string{"coordinator", "--id", "C", "--port", "1", "--wal", wal, "--participants", "nohost"}, `address "nohost"`},
		{[]string{"coordinator", "--id", "C", "--port", "1", "--wal", wal, "--participants", "a:1,a:1"}, "listed twice"},
		{[]string{"coordinator", "--id", "C", "--port", "1", "--wal", wal, "--participants", "a:1", "--delay", "-1s"}, "--delay"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"txd"}, tc.args...), &out, &errb)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", tc.args, code, errb.String())
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: stderr %q does not mention %q", tc.args, errb.String(), tc.want)
		}
	}
}

// --version prints the build's version and the Go release, and exits 0.
func TestVersionFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"txd", "--version"}, &out, &errb); code != 0 {
		t.Fatalf("txd --version: exit %d, stderr %q", code, errb.String())
	}
	if want := "txd version " + version.Long() + "\n"; out.String() != want {
		t.Errorf("txd --version printed %q, want %q", out.String(), want)
	}
}

// The demo's help names the scenarios it runs: 1 to 5 (4 is 3PC, demo3pc.go;
// 5 is PARALLEL, demoparallel.go).
func TestDemoHelpNamesItsScenarios(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"txd", "demo", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "scenarios 1-5") || strings.Contains(out.String(), "1-4") {
		t.Errorf("demo --help:\n%s", out.String())
	}
}
