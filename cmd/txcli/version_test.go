package main

import (
	"testing"

	"github.com/txd/txd/internal/version"
)

// --version prints the build's version and the Go release, and exits 0
// without dialling anything.
func TestVersionFlag(t *testing.T) {
	clearEnv(t)
	r := txcli(t, noDial(t), "--version")
	if r.code != exitOK {
		t.Fatalf("txcli --version: exit %d, stderr %s", r.code, r.errOut)
	}
	if want := "txcli version " + version.Long() + "\n"; r.out != want {
		t.Errorf("txcli --version printed %q, want %q", r.out, want)
	}
}
