package main

// txcli watch against a real cluster: its line and JSON outputs while
// transactions run and the coordinator is killed -9 and restarted, and
// its terminal UI in a pseudo-terminal.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// watchProc is a running "txcli watch" whose output is collected line by
// line.
type watchProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited and its output is read
	mu    sync.Mutex
	lines []string
}

// watchEnv is the environment without TXD_/TXCLI_ variables, which would
// change txcli's flags.
func watchEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TXD_") && !strings.HasPrefix(kv, "TXCLI_") {
			env = append(env, kv)
		}
	}
	return env
}

// startWatch runs txcli with args, stdout to a pipe (so not a terminal).
// It is killed by pid at the end of the test if still running.
func startWatch(t *testing.T, bins *cluster.Binaries, args ...string) *watchProc {
	t.Helper()
	cmd := exec.Command(bins.TXCLI, args...)
	cmd.Env = watchEnv()
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := &watchProc{t: t, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go w.read(out)
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			cmd.Process.Kill()
			<-w.done
		}
		if t.Failed() {
			t.Logf("----- txcli %s -----\n%s", strings.Join(args, " "), strings.Join(w.snapshot(), "\n"))
		}
	})
	return w
}

func (w *watchProc) read(r io.Reader) {
	defer close(w.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		w.mu.Lock()
		w.lines = append(w.lines, sc.Text())
		w.mu.Unlock()
	}
	io.Copy(io.Discard, r) // a line too long: keep the pipe drained
	w.cmd.Wait()
}

func (w *watchProc) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// waitFor waits until a line from index from on satisfies match and
// returns the index after it.
func (w *watchProc) waitFor(from int, what string, match func(string) bool) int {
	w.t.Helper()
	next := -1
	cluster.Eventually(w.t, waitTimeout, "watch output: "+what, func() error {
		ls := w.snapshot()
		for i := from; i < len(ls); i++ {
			if match(ls[i]) {
				next = i + 1
				return nil
			}
		}
		select {
		case <-w.done:
			return fmt.Errorf("watch exited: %v", w.cmd.ProcessState)
		default:
		}
		return fmt.Errorf("not among %d lines", len(ls)-from)
	})
	return next
}

// running fails the test if the watch has exited.
func (w *watchProc) running() {
	w.t.Helper()
	select {
	case <-w.done:
		w.t.Fatalf("watch exited early: %v", w.cmd.ProcessState)
	default:
	}
}

// stop sends SIGTERM to the watch's pid and wants exit 0 within a few seconds.
func (w *watchProc) stop() {
	w.t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		w.t.Fatal(err)
	}
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		w.t.Fatal("watch did not exit within 5s of SIGTERM")
	}
	if code := w.cmd.ProcessState.ExitCode(); code != 0 {
		w.t.Errorf("watch exit code %d after SIGTERM, want 0", code)
	}
}

// watchJSON is what the test reads of a --json line.
type watchJSON struct {
	Event        string            `json:"event"`
	ID           string            `json:"id"`
	Up           *bool             `json:"up"`
	State        string            `json:"state"`
	Outcome      string            `json:"outcome"`
	Participant  string            `json:"participant"`
	Participants map[string]string `json:"participants"`
	Time         time.Time         `json:"time"`
}

func parseJSONLine(t *testing.T, l string) watchJSON {
	var e watchJSON
	if err := json.Unmarshal([]byte(l), &e); err != nil || e.Event == "" || e.Time.IsZero() {
		t.Errorf("not a watch JSON line (%v): %q", err, l)
	}
	return e
}

func jsonMatch(t *testing.T, cond func(watchJSON) bool) func(string) bool {
	return func(l string) bool { return cond(parseJSONLine(t, l)) }
}

func allCommitted(ps map[string]string) bool {
	return len(ps) == 2 && ps["B"] == "COMMITTED" && ps["C"] == "COMMITTED"
}

// watch keeps running through a coordinator's kill -9 and restart, in line
// and JSON mode: it reports transactions committing, the coordinator down
// and back, the participants blocked in 2PC's READY while it is down (by
// their own word), and the recovery delivering the commit.
func TestWatchThroughCoordinatorCrash(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	args := []string{"--coord", c.Coord.Addr(), "watch", "--interval", "100ms", "--in-doubt", "300ms"}
	lines := startWatch(t, c.Bins, args...)
	js := startWatch(t, c.Bins, append([]string{"--json"}, args...)...)

	upLine := func(l string) bool { return strings.Contains(l, "coordinator COORD up at ") }
	upJSON := jsonMatch(t, func(e watchJSON) bool { return e.Event == "coordinator" && e.Up != nil && *e.Up && e.ID == "COORD" })
	downLine := func(l string) bool { return strings.Contains(l, "coordinator down at ") }
	downJSON := jsonMatch(t, func(e watchJSON) bool { return e.Event == "coordinator" && e.Up != nil && !*e.Up })
	ln := lines.waitFor(0, "coordinator up", upLine)
	jn := js.waitFor(0, "coordinator up", upJSON)

	commit(t, c, "W1", "SET", "a", "1")
	ln = lines.waitFor(ln, "W1 committed", func(l string) bool {
		return strings.Contains(l, " tx W1 2PC COMMITTED B=COMMITTED C=COMMITTED")
	})
	lines.waitFor(0, "W1's outcome", func(l string) bool { return strings.Contains(l, " outcome W1 2PC COMMITTED in ") })
	jn = js.waitFor(jn, "W1 committed", jsonMatch(t, func(e watchJSON) bool {
		return e.Event == "tx" && e.ID == "W1" && e.State == "COMMITTED" && allCommitted(e.Participants)
	}))
	js.waitFor(0, "W1's outcome", jsonMatch(t, func(e watchJSON) bool {
		return e.Event == "outcome" && e.ID == "W1" && e.Outcome == "COMMITTED"
	}))

	// kill -9: down; restarted (with a delay between decision and phase
	// two): up again.
	if err := c.Coord.Kill(); err != nil {
		t.Fatal(err)
	}
	ln = lines.waitFor(ln, "coordinator down", downLine)
	jn = js.waitFor(jn, "coordinator down", downJSON)
	c.Coord.SetFlag("delay", "5s")
	c.StartCoord()
	ln = lines.waitFor(ln, "coordinator up again", upLine)
	jn = js.waitFor(jn, "coordinator up again", upJSON)

	// W2 is decided, then the coordinator dies in the delay: B and C stay
	// READY (2PC blocks), which watch learns from them.
	commit(t, c, "W2", "SET", "b", "2")
	if err := c.Coord.Kill(); err != nil {
		t.Fatal(err)
	}
	ln = lines.waitFor(ln, "coordinator down again", downLine)
	jn = js.waitFor(jn, "coordinator down again", downJSON)
	for _, p := range []string{"B", "C"} {
		lines.waitFor(ln, p+" in doubt on W2", func(l string) bool { return strings.Contains(l, " in-doubt W2: "+p+" READY for ") })
		js.waitFor(jn, p+" in doubt on W2", jsonMatch(t, func(e watchJSON) bool {
			return e.Event == "in_doubt" && e.ID == "W2" && e.Participant == p && e.State == "READY"
		}))
	}

	// Restarted without the delay: it re-sends the decision.
	c.Coord.DelFlag("delay")
	c.StartCoord()
	ln = lines.waitFor(ln, "coordinator up after the second crash", upLine)
	lines.waitFor(ln, "W2 committed everywhere", func(l string) bool {
		return strings.Contains(l, " tx W2 2PC COMMITTED B=COMMITTED C=COMMITTED")
	})
	jn = js.waitFor(jn, "coordinator up after the second crash", upJSON)
	js.waitFor(jn, "W2 committed everywhere", jsonMatch(t, func(e watchJSON) bool {
		return e.Event == "tx" && e.ID == "W2" && e.State == "COMMITTED" && allCommitted(e.Participants)
	}))

	lines.running()
	js.running()
	lines.stop()
	js.stop()
	for _, l := range lines.snapshot() {
		if strings.ContainsRune(l, '\x1b') {
			t.Errorf("escape code in line output: %q", l)
		}
	}
	for _, l := range js.snapshot() {
		parseJSONLine(t, l)
	}
}

// syncBuffer collects a pseudo-terminal's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// On a terminal watch is a full-screen view: in a pseudo-terminal it shows
// the nodes and a committed transaction, and q ends it with exit 0 and the
// screen restored. The terminal answers no query: the view must not wait
// for one (bubbletea v1 waited 5 s for the background colour).
func TestWatchTerminalUI(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	commit(t, c, "P1", "SET", "k", "1")

	p := startPTY(t, c.Bins.TXCLI, "--coord", c.Coord.Addr(), "watch", "--interval", "100ms")
	cluster.Eventually(t, waitTimeout, "the view shows B and P1 committed", func() error {
		s := p.out.String()
		for _, want := range []string{"NODES", "participant", "B", "RECENT OUTCOMES", "P1", "COMMITTED"} {
			if !strings.Contains(s, want) {
				return fmt.Errorf("no %q yet", want)
			}
		}
		return nil
	})
	if _, err := p.tty.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	wantRestored(t, p, "q")
}

// Ctrl-C and Esc end the view too (keys decoded from the terminal's raw
// input), also while the coordinator is unreachable.
func TestWatchTerminalUIKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs txcli; skipped with -short")
	}
	t.Parallel()
	bins := cluster.Shared(t)
	dead, err := cluster.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct{ name, key string }{{"ctrl+c", "\x03"}, {"esc", "\x1b"}} {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			p := startPTY(t, bins.TXCLI, "--coord", dead, "watch", "--interval", "50ms")
			cluster.Eventually(t, waitTimeout, "the view shows the coordinator down", func() error {
				if !strings.Contains(p.out.String(), "COORDINATOR UNREACHABLE") {
					return fmt.Errorf("no banner yet")
				}
				return nil
			})
			if _, err := p.tty.Write([]byte(k.key)); err != nil {
				t.Fatal(err)
			}
			wantRestored(t, p, k.name)
		})
	}
}

// wantRestored wants the view to end, after key, with exit 0, the
// alternate screen left (and with it the normal screen back), and no
// question asked of the terminal.
func wantRestored(t *testing.T, p *ptyProc, key string) {
	t.Helper()
	code, done := p.wait(5 * time.Second)
	if !done {
		t.Fatalf("watch did not exit within 5s of %s", key)
	}
	if code != 0 {
		t.Errorf("exit code %d after %s, want 0", code, key)
	}
	out := p.out.String()
	if !strings.Contains(out, "\x1b[?1049h") || !strings.Contains(out, "\x1b[?1049l") {
		t.Errorf("the alternate screen is not entered and left")
	}
	if strings.Contains(out, "\x1b]11;") || strings.Contains(out, "\x1b[6n") {
		t.Errorf("asked the terminal for its background colour or cursor position")
	}
}
