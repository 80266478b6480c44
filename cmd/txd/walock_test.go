package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// TestSecondProcessOnSameWAL: a second txd started on a WAL that a running
// node holds fails at once with a clear error and exit 1, and the running
// node is untouched (it still commits). Two writers on one log would
// interleave records and destroy it.
func TestSecondProcessOnSameWAL(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	b := c.Part("B")
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.Shared(t).TXD, "participant", "--id", "B",
		"--port", strconv.Itoa(port), "--wal", b.WAL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("second participant on %s: %v, want exit 1 (stderr %q)", b.WAL, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "locked by another process") || !strings.Contains(stderr.String(), b.WAL) {
		t.Fatalf("stderr %q does not say the log %s is locked", stderr.String(), b.WAL)
	}
	commit(t, c, "after-lock", "SET", "k", "v")
}
