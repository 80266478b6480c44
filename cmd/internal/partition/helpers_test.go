package partition

import (
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/txd/txd/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait for something that must happen.
const waitFor = 5 * time.Second

// quiet is how long a held direction must stay silent to pass as held.
const quiet = 200 * time.Millisecond

// target is a node stand-in: a listener whose accepted connections the
// test reads and writes itself.
type target struct {
	ln       net.Listener
	accepted chan net.Conn
	done     chan struct{}
}

func newTarget(t *testing.T) *target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &target{ln: ln, accepted: make(chan net.Conn, 16), done: make(chan struct{})}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			s.accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-s.done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return s
}

func (s *target) addr() string { return s.ln.Addr().String() }

// next waits for the next accepted connection.
func (s *target) next(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-s.accepted:
		return c
	case <-time.After(waitFor):
		t.Fatal("no connection reached the target")
		return nil
	}
}

// none checks that no connection reaches the target for a while.
func (s *target) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-s.accepted:
		t.Fatalf("a connection from %v reached the target", c.RemoteAddr())
	case <-time.After(quiet):
	}
}

// acceptHello takes the next connection and checks that its first frame is
// a Hello from id, delivered unchanged.
func (s *target) acceptHello(t *testing.T, id string) net.Conn {
	t.Helper()
	c := s.next(t)
	c.SetReadDeadline(time.Now().Add(waitFor))
	_, from, err := readHello(c) // reads the frame and nothing after it
	c.SetReadDeadline(time.Time{})
	if err != nil || from != id {
		t.Fatalf("first frame from %q (%v), want a Hello from %s", from, err, id)
	}
	return c
}

// dialAs connects to addr and sends a Hello as node id.
func dialAs(t *testing.T, addr, id string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	b, err := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: id, Role: wire.RoleParticipant})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	return c
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// flows sends s on from and reads it on to.
func flows(t *testing.T, from, to net.Conn, s string) {
	t.Helper()
	send(t, from, s)
	expect(t, to, s)
}

// expect reads exactly want from c.
func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	defer c.SetReadDeadline(time.Time{})
	b := make([]byte, len(want))
	n, err := readFull(c, b)
	if err != nil || string(b[:n]) != want {
		t.Fatalf("read %q, %v; want %q", b[:n], err, want)
	}
}

// silent checks that nothing arrives on c for a while.
func silent(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(quiet))
	defer c.SetReadDeadline(time.Time{})
	b := make([]byte, 1)
	n, err := c.Read(b)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %q, %v through a cut", b[:n], err)
	}
}

// closed checks that c is closed by the other side (EOF or reset).
func closed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	defer c.SetReadDeadline(time.Time{})
	b := make([]byte, 64)
	for {
		n, err := c.Read(b)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the connection stays open")
			}
			return
		}
		if n > 0 {
			t.Fatalf("read %q, want the end of the stream", b[:n])
		}
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// newNet returns a Net closed at the end of the test.
func newNet(t *testing.T) *Net {
	t.Helper()
	n := New()
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return n
}

func add(t *testing.T, n *Net, id, target string) *Proxy {
	t.Helper()
	p, err := n.Add(id, target)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// aDialsB starts a Net with a proxy for B and returns it with a connection
// from A through the proxy: A's end and B's.
func aDialsB(t *testing.T) (n *Net, a, b net.Conn) {
	t.Helper()
	n = newNet(t)
	tb := newTarget(t)
	p := add(t, n, "B", tb.addr())
	a = dialAs(t, p.Addr(), "A")
	return n, a, tb.acceptHello(t, "A")
}

// waitUntil polls cond until it holds, failing the test after waitFor.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
