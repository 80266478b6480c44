package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveShared()
	if code == 0 {
		// Every node's reaper goroutine must be gone once its test ended.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestFreePortUnique(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if p <= 0 || p > 65535 || seen[p] {
			t.Fatalf("port %d: out of range or handed out twice", p)
		}
		seen[p] = true
	}
}

func TestPoll(t *testing.T) {
	n := 0
	err := Poll(context.Background(), 5*time.Second, func() error {
		if n++; n < 3 {
			return fmt.Errorf("try %d", n)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("Poll: %v after %d calls; want success on the 3rd", err, n)
	}

	start := time.Now()
	err = Poll(context.Background(), 100*time.Millisecond, func() error { return errors.New("never") })
	if err == nil || !strings.Contains(err.Error(), "never") || !strings.Contains(err.Error(), "100ms") {
		t.Errorf("Poll timeout error %v: want the last complaint and the timeout", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("Poll gave up after %v, want about 100ms", d)
	}
}

// recorder is a testing.TB that records failures instead of stopping.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Fatalf(f string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(f, args...))
}
func (r *recorder) Errorf(f string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(f, args...))
}
func (r *recorder) expect(t *testing.T, fail bool) { t.Helper(); checkFailed(t, r.failed, fail) }

func checkFailed(t *testing.T, failed []string, want bool) {
	t.Helper()
	if (len(failed) > 0) != want {
		t.Errorf("failures %q, want failure: %v", failed, want)
	}
}

func TestEventuallyConsistentlyExpect(t *testing.T) {
	ok := func() error { return nil }
	bad := func() error { return errors.New("bad") }

	r := &recorder{TB: t}
	Eventually(r, 50*time.Millisecond, "ok", ok)
	r.expect(t, false)
	r = &recorder{TB: t}
	Eventually(r, 50*time.Millisecond, "bad", bad)
	r.expect(t, true)

	r = &recorder{TB: t}
	Consistently(r, 60*time.Millisecond, "ok", ok)
	r.expect(t, false)
	r = &recorder{TB: t}
	calls := 0
	Consistently(r, time.Second, "turns bad", func() error {
		if calls++; calls > 2 {
			return errors.New("bad")
		}
		return nil
	})
	r.expect(t, true)

	r = &recorder{TB: t}
	if Expect(r, 50*time.Millisecond, "bad", bad) {
		t.Error("Expect reported success")
	}
	r.expect(t, true)
}

// TestNodeLifecycle runs a real one-participant cluster: start, a
// transaction, kill -9, restart on the same port and WAL, stop.
func TestNodeLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries; skipped with -short")
	}
	c := Start(t, Shared(t), Config{Participants: []string{"B"}})
	b := c.Part("B")
	port, pid := b.Port, b.Pid()

	out, r := c.StartTx("T1", "2PC", "ADD", "n", "5")
	if r.Code != 0 || out.Outcome != "COMMITTED" {
		t.Fatalf("T1: %v", r)
	}
	Eventually(t, 10*time.Second, "B applies T1", func() error {
		st, err := c.PartStatus("B")
		if err != nil {
			return err
		}
		if st.Store["n"] != "5" || st.TxState("T1") != "COMMITTED" {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})

	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	if b.Running() {
		t.Fatal("B still running after Kill")
	}
	if _, err := c.PartStatus("B"); err == nil {
		t.Fatal("a killed node answered status")
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	if b.Port != port || b.Pid() == pid {
		t.Errorf("restart: port %d→%d, pid %d→%d; want the same port, a new pid", port, b.Port, pid, b.Pid())
	}
	if st := c.MustPartStatus("B"); st.Store["n"] != "5" {
		t.Errorf("after restart the WAL gave %v", st.Store)
	}
	if lines := b.LogLines("harness: run 2"); len(lines) != 1 {
		t.Errorf("log of both runs expected in %s:\n%s", b.Log, b.LogText())
	}
	if err := b.Stop(); err != nil {
		t.Error(err)
	}
	if got := b.Unexpected(); len(got) != 0 {
		t.Errorf("unexpected exits: %v", got)
	}
}
