package main

import (
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// txcli's commands other than watch's full-screen view write no escape
// code to a terminal and ask it nothing: a TUI library that queried the
// terminal at package init (bubbletea v1 asks for the background colour
// and the cursor position, then waits up to 5 s for an answer) made every
// command on a terminal slow and left "]11;?" garbage on the screen. The
// pseudo-terminal here never answers, so such a query shows both as an
// escape code in the output and as a wait.
func TestTxcliOnTerminalAsksNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs txcli; skipped with -short")
	}
	t.Parallel()
	bins := cluster.Shared(t)
	dead, err := cluster.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string // in the output: the command ran, the check is not vacuous
	}{
		{"status coord", []string{"--coord", dead, "status"}, 2, "cannot reach coordinator at " + dead},
		{"status participant", []string{"--participant", dead, "status"}, 2, "cannot reach participant at " + dead},
		{"start", []string{"--coord", dead, "start", "T1", "2PC", "SET", "k", "1"}, 2, "cannot reach coordinator at " + dead},
		{"bench", []string{"--coord", dead, "bench", "-n", "1", "-c", "1"}, 2, dead},
		{"watch line mode", []string{"--coord", dead, "watch", "--plain", "--count", "1"}, 0, "coordinator down at " + dead},
		{"help", []string{"--help"}, 0, "COMMANDS:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			p := startPTY(t, bins.TXCLI, tt.args...)
			// Generous for a loaded machine, yet under the 5 s a query
			// waits for its answer.
			code, done := p.wait(4 * time.Second)
			took := time.Since(start)
			out := p.out.String()
			t.Logf("exit %d in %v", code, took.Round(time.Millisecond))
			switch { // first what it asked: the cause of a wait
			case strings.Contains(out, "\x1b]11;"):
				t.Errorf("asked the terminal for its background colour (OSC 11): %q", out)
			case strings.Contains(out, "\x1b[6n"):
				t.Errorf("asked the terminal for the cursor position (DSR 6): %q", out)
			case strings.ContainsRune(out, '\x1b'):
				t.Errorf("escape code in the output: %q", out)
			}
			if !done {
				t.Fatalf("still running after %v", took.Round(time.Millisecond))
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q: %q", tt.want, out)
			}
		})
	}
}
