//go:build unix

package walstore

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// rewriteCrashEnv tells the re-executed test binary to run the child side
// of TestRewriteCrash: "step:path".
const rewriteCrashEnv = "WALSTORE_REWRITE_CRASH_CHILD"

// rewriteContents are the log's contents before and after the rewrite:
// fixed seeds, so that parent and child agree without talking.
func rewriteContents() (before, after []rec) {
	before = genRecords(rand.New(rand.NewPCG(11, 1)), 60, 3000)
	after = genRecords(rand.New(rand.NewPCG(11, 2)), 25, 3000)
	return before, after
}

// TestRewriteCrash kills a process with SIGKILL right after each step of
// Rewrite (write the temp file, sync it, name the new generation in the
// control file, rename it, sync the directory, name the new generation
// alone) and reopens the log: it must hold exactly the old content (before
// the rename) or exactly the new one (from the rename on), never a mix, a
// loss or an error; the control file must then name that file's
// generation alone, with a bound that still catches the log cut in half;
// and the reopened log must rewrite (over the leftover temp file) and
// append as usual. The page cache survives a process kill, so which of
// the two is deterministic per step.
func TestRewriteCrash(t *testing.T) {
	for _, tc := range []struct {
		name    string
		step    RewriteStep
		wantNew bool
	}{
		{"temp-written", RewriteTempWritten, false},
		{"temp-synced", RewriteTempSynced, false},
		{"control-prepared", RewriteControlPrepared, false},
		{"renamed", RewriteRenamed, true},
		{"dir-synced", RewriteDirSynced, true},
		{"control-committed", RewriteControlCommitted, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before, after := rewriteContents() // each its own: buildLog fills in offsets
			dir := t.TempDir()
			path, _ := buildLog(t, dir, "node.wal", Options{PreallocChunk: 4096}, before)

			cmd := exec.Command(os.Args[0], "-test.run=^TestRewriteCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), rewriteCrashEnv+"="+strconv.Itoa(int(tc.step))+":"+path)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("child: want it killed, got %v\n%s", err, out)
			}
			if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child: want death by SIGKILL at step %d, got %v\n%s", tc.step, exit, out)
			}

			l, _, got := openReplay(t, path, Options{PreallocChunk: 4096})
			want := before
			if tc.wantNew {
				want = offsets(after)
			}
			sameRecords(t, got, want)
			l = checkCutRefused(t, l, want)

			// The survivor works: rewrite over the leftover temp file,
			// append, and find both after reopening.
			extra := rec{t: 9, p: []byte("after the crash")}
			if err := l.Rewrite(records(before)); err != nil {
				t.Fatalf("Rewrite after the crash: %v", err)
			}
			if err := l.Write(AppendRecord(nil, extra.t, extra.p)); err != nil {
				t.Fatal(err)
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l, _, got = openReplay(t, path, Options{})
			defer l.Close()
			sameRecords(t, got, offsets(append(append([]rec(nil), before...), extra)))
		})
	}
}

// TestRewriteCrashChild is the child process of TestRewriteCrash: it opens
// the log and rewrites it, killing itself after the step it was given.
func TestRewriteCrashChild(t *testing.T) {
	arg := os.Getenv(rewriteCrashEnv)
	if arg == "" {
		t.Skip("the child of TestRewriteCrash")
	}
	s, path, _ := strings.Cut(arg, ":")
	step, _ := strconv.Atoi(s)
	_, after := rewriteContents()
	l, _, err := Open(path, Options{PreallocChunk: 4096, AfterRewriteStep: func(s RewriteStep) {
		if int(s) == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL) //nolint:errcheck // the parent sees if it did not die
			select {}
		}
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Rewrite(records(after)); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("Rewrite finished: step %d never came (%q)", step, arg)
}

// checkCutRefused checks that the control file of the reopened log l
// names its generation alone with its whole length (want holds its
// records) as durable, so that the log cut in half is refused. It closes
// l and returns the log opened again.
func checkCutRefused(t *testing.T, l *Log, want []rec) *Log {
	t.Helper()
	end := want[len(want)-1].off + encodedSize(want[len(want)-1])
	c, ok, err := ReadControl(l.Path())
	if err != nil || !ok || c.Gen != l.Generation() || c.NextGen != 0 || c.Bound != end {
		t.Fatalf("control file after the crash: %+v ok=%v err=%v, want generation %x alone, bound %d",
			c, ok, err, l.Generation(), end)
	}
	path := l.Path()
	l.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:end/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(path, Options{}, nil); !errors.Is(err, ErrTruncated) {
		t.Fatalf("log cut in half after the crash: Open err = %v, want ErrTruncated", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, _ = openReplay(t, path, Options{PreallocChunk: 4096})
	return l
}

// records converts test records to Rewrite's input.
func records(rs []rec) []Record {
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = Record{Type: r.t, Payload: r.p}
	}
	return out
}

// offsets returns a copy of rs with the offsets they take in a log holding
// only them, after the header record.
func offsets(rs []rec) []rec {
	out := make([]rec, len(rs))
	off := int64(headerLen)
	for i, r := range rs {
		out[i] = r
		out[i].off = off
		off += encodedSize(r)
	}
	return out
}
