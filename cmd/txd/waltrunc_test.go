package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/walstore"
)

// TestTruncatedWALRefused: a participant whose log was cut in half after a
// kill -9 refuses to start (exit 1, a message naming the log and its
// control file) rather than cut a "torn tail" and forget the committed
// transactions in it; with the log restored it starts and has
// them all. The participant checkpoints every few transactions and
// records its durable end every 50ms, so the cut lands before the bound.
func TestTruncatedWALRefused(t *testing.T) {
	const txns = 40
	c := cluster.New(t, cluster.Shared(t), cluster.Config{Participants: []string{"B"}})
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	b := c.Part("B")
	b.SetFlag("compact-bytes", "4096")
	b.SetFlag("wal-bound-interval", "50ms")
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	c.StartCoord()
	for i := range txns {
		commit(t, c, fmt.Sprintf("T%d", i), "SET", "k"+strconv.Itoa(i), strconv.Itoa(i))
	}
	// The control file's bound passes the middle of the log. (It need not
	// reach the end: records written lazily, without a sync, lie after it
	// until the next forced one.)
	cluster.Eventually(t, waitTimeout, "B's control file to cover half its log", func() error {
		data, err := os.ReadFile(b.WAL)
		if err != nil {
			return err
		}
		ctl, ok, err := walstore.ReadControl(b.WAL)
		if err != nil || !ok {
			return fmt.Errorf("control file: ok=%v err=%v", ok, err)
		}
		if half := int64(len(bytes.TrimRight(data, "\x00")) / 2); ctl.Bound <= half {
			return fmt.Errorf("bound %d, half the log at %d", ctl.Bound, half)
		}
		return nil
	})
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	cluster.Eventually(t, waitTimeout, "B to die", func() error {
		if b.Running() {
			return errors.New("still running")
		}
		return nil
	})
	full, err := os.ReadFile(b.WAL)
	if err != nil {
		t.Fatal(err)
	}
	ctl, _, err := walstore.ReadControl(b.WAL)
	if err != nil {
		t.Fatal(err)
	}
	// Half the log, and before the bound whatever B wrote since the check.
	cut := min(int64(len(bytes.TrimRight(full, "\x00"))/2), ctl.Bound-1)
	if err := os.WriteFile(b.WAL, full[:cut], 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.Shared(t).TXD, b.Args()...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("B on its log cut in half: %v, want exit 1\n%s", err, stderr.String())
	}
	msg := stderr.String()
	for _, want := range []string{"log truncated", b.WAL, walstore.ControlPath(b.WAL)} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine ") {
		t.Errorf("txd panicked:\n%s", msg)
	}

	t.Logf("txd on the cut log: %v: %s", err, strings.TrimSpace(msg))

	if err := os.WriteFile(b.WAL, full, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	st := c.MustPartStatus("B")
	for i := range txns {
		if k := "k" + strconv.Itoa(i); st.Store[k] != strconv.Itoa(i) {
			t.Fatalf("after restoring the log, B has %s = %q, want %d", k, st.Store[k], i)
		}
	}
}
