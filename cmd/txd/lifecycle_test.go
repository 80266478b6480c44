package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// txdProc is one txd process run by hand: the harness's nodes cannot be
// given an environment (NOTIFY_SOCKET) or timed from SIGTERM to exit.
type txdProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProc(t *testing.T, name string, env []string, args ...string) *txdProc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(cluster.Shared(t).TXD, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &txdProc{t: t, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		cmd.Wait() //nolint:errcheck // ProcessState says
		close(d.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // may be gone
		<-d.done
	})
	return d
}

func (d *txdProc) text() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// stop sends SIGTERM and returns how long the process took to exit.
func (d *txdProc) stop() time.Duration {
	d.t.Helper()
	began := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.t.Fatalf("no exit 10s after SIGTERM; log:\n%s", d.text())
	}
	took := time.Since(began)
	if !d.cmd.ProcessState.Success() {
		d.t.Errorf("exit %v after SIGTERM; log:\n%s", d.cmd.ProcessState, d.text())
	}
	return took
}

// wantStopped checks that the log ends with the "stopped" line.
func (d *txdProc) wantStopped(name string) {
	d.t.Helper()
	lines := strings.Split(strings.TrimSpace(d.text()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "level=INFO msg=stopped ") || !strings.Contains(last, " took=") {
		d.t.Errorf("%s: the last log line is %q, want the stopped line", name, last)
	}
}

// notifySocket is a fake systemd: the datagrams txd sends to NOTIFY_SOCKET.
type notifySocket struct {
	path string
	conn *net.UnixConn
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: a socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &notifySocket{path: path, conn: conn}
}

// until reads notifications until one contains want, and returns those
// read; it fails after timeout.
func (s *notifySocket) until(t *testing.T, want string, timeout time.Duration) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for {
		s.conn.SetReadDeadline(deadline) //nolint:errcheck // a closed socket fails the read
		n, err := s.conn.Read(buf)
		if err != nil {
			t.Fatalf("no %q notification within %v (got %q): %v", want, timeout, got, err)
		}
		got = append(got, string(buf[:n]))
		if strings.Contains(string(buf[:n]), want) {
			return got
		}
	}
}

// get fetches an HTTP path: status code and body.
func get(url string) (int, string, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	res, err := scraper.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(p)
}

func nodeArgs(t *testing.T, role, id, addr, metrics string) []string {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	return []string{role, "--id", id, "--host", "127.0.0.1", "--port", port,
		"--wal", filepath.Join(t.TempDir(), id+".wal"), "--metrics", metrics}
}

// A node's life as an operator and systemd see it: a coordinator with a
// participant that refuses connections logs it within a second or so, is
// alive (/healthz) but not ready (/readyz 503 naming it) and tells systemd
// why; once the participant is up it logs that, with how long it was away,
// is ready and notifies READY=1. SIGTERM notifies STOPPING=1, and the node
// exits well under a second, even with an HTTP connection open that never
// sent a request, and logs "stopped" last.
func TestLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	bAddr, cAddr, coordAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	bMetrics, coordMetrics := freeAddr(t), freeAddr(t)
	sd := listenNotify(t)

	b := startProc(t, "B", nil, nodeArgs(t, "participant", "B", bAddr, bMetrics)...)
	coord := startProc(t, "COORD", []string{"NOTIFY_SOCKET=" + sd.path},
		append(nodeArgs(t, "coordinator", "COORD", coordAddr, coordMetrics), "--participants", "B="+bAddr+",C="+cAddr)...)

	cluster.Eventually(t, waitTimeout, "the coordinator logs C unreachable", func() error {
		if !strings.Contains(coord.text(), `level=WARN msg="participant unreachable" node=COORD role=coordinator participant=C`) {
			return errors.New("no unreachable line for C yet")
		}
		return nil
	})
	if code, body, err := get("http://" + coordMetrics + "/healthz"); err != nil || code != 200 {
		t.Errorf("/healthz with C down: %d %q %v, want 200", code, body, err)
	}
	if code, body, err := get("http://" + coordMetrics + "/readyz"); err != nil || code != 503 || !strings.Contains(body, "C") {
		t.Errorf("/readyz with C down: %d %q %v, want 503 naming C", code, body, err)
	}
	if got := sd.until(t, "STATUS=participants not connected: C", waitTimeout); strings.Contains(strings.Join(got, " "), "READY=1") {
		t.Errorf("READY=1 while C is down: %q", got)
	}

	c := startProc(t, "C", nil, nodeArgs(t, "participant", "C", cAddr, freeAddr(t))...)
	sd.until(t, "READY=1", waitTimeout)
	if code, body, err := get("http://" + coordMetrics + "/readyz"); err != nil || code != 200 {
		t.Errorf("/readyz once ready: %d %q %v, want 200", code, body, err)
	}
	cluster.Eventually(t, waitTimeout, "the coordinator logs C reachable again", func() error {
		for _, l := range strings.Split(coord.text(), "\n") {
			if strings.Contains(l, `msg="participant reachable again"`) && strings.Contains(l, "participant=C") && strings.Contains(l, " lasted=") {
				return nil
			}
		}
		return errors.New("no reachable-again line for C yet")
	})
	if n := strings.Count(coord.text(), `msg="participant unreachable"`); n != 1 {
		t.Errorf("%d unreachable lines, want 1 (once when it starts)", n)
	}

	// A transaction is no incident: at info level the coordinator logs
	// nothing about it.
	ctx, cancel := context.WithTimeout(context.Background(), cluster.RunTimeout)
	defer cancel()
	res, err := cluster.Shared(t).Txcli(ctx, "--coord", coordAddr, "start", "T0", "2PC", "SET", "k", "v")
	if err != nil || res.Code != 0 {
		t.Fatalf("txcli start T0: %v %v", res, err)
	}
	if strings.Contains(coord.text(), "T0") {
		t.Errorf("the coordinator logged transaction T0 at info level:\n%s", coord.text())
	}

	// An HTTP connection that never sends a request: http.Server.Shutdown
	// alone would wait for it.
	idle, err := net.Dial("tcp", coordMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	cluster.Eventually(t, waitTimeout, "the idle connection is accepted", func() error {
		// Any answer proves the server runs; the idle one was accepted before.
		_, _, err := get("http://" + coordMetrics + "/healthz")
		return err
	})

	took := coord.stop()
	sd.until(t, "STOPPING=1", time.Second)
	t.Logf("coordinator: SIGTERM to exit %v", took)
	if took >= time.Second {
		t.Errorf("the coordinator took %v from SIGTERM to exit, want well under a second", took)
	}
	coord.wantStopped("coordinator")
	for name, p := range map[string]*txdProc{"B": b, "C": c} {
		took := p.stop()
		t.Logf("participant %s: SIGTERM to exit %v", name, took)
		if took >= time.Second {
			t.Errorf("participant %s took %v from SIGTERM to exit, want well under a second", name, took)
		}
		p.wantStopped(name)
	}
	if t.Failed() {
		fmt.Println(coord.text())
	}
}
