package transport

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// tcpPair returns a Conn on one end of a loopback TCP connection with small
// fixed socket buffers, and the raw far end.
func tcpPair(t *testing.T) (*Conn, *net.TCPConn) {
	t.Helper()
	tc, far := dialPair(t)
	// Fixed buffers (no autotuning), far smaller than the test's frames.
	if err := tc.SetWriteBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	if err := far.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	c := newConn(tc, bufio.NewReader(tc), wire.Hello{NodeID: "far"}, connConfig{})
	go c.readLoop()
	t.Cleanup(func() {
		far.Close()
		c.Close()
		c.wait()
	})
	return c, far
}

// dialPair connects two loopback TCP sockets.
func dialPair(t *testing.T) (near, far *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *net.TCPConn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c.(*net.TCPConn)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	far = <-accepted
	if far == nil {
		t.Fatal("accept failed")
	}
	return nc.(*net.TCPConn), far
}

// TestDirectWritePartial: frames that the kernel takes only in part on
// the direct path (the peer is not reading) are finished by the writer
// before anything sent after them, from any number of senders: the far end
// reads every frame whole and each sender's frames in order.
func TestDirectWritePartial(t *testing.T) {
	c, far := tcpPair(t)
	if c.direct.raw == nil {
		t.Fatal("a TCP connection has no direct path")
	}
	// One frame larger than what the kernel buffers while nobody reads:
	// the direct path can only start it. (The bulk is in From: a Reason
	// would be cut to MaxReasonLen bytes on decode.)
	huge := strings.Repeat("h", 900<<10)
	if err := c.Send(&wire.Vote{TxID: "first", From: huge, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.direct.partial.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the kernel took a 900 KiB frame at once: no partial write to test")
		}
		time.Sleep(time.Millisecond)
	}
	// Senders pile on behind it, some after a quiet moment (so that they
	// try the direct path again) and with large frames.
	big := strings.Repeat("x", 200<<10)
	const senders, each = 4, 10
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v := &wire.Vote{TxID: fmt.Sprintf("s%d-%d", s, i), From: "B", Reason: "r"}
				if i%5 == 0 {
					v.From = big
					time.Sleep(2 * directGap)
				}
				if err := c.Send(v); err != nil {
					t.Errorf("send %s: %v", v.TxID, err)
					return
				}
			}
		}()
	}
	// Now the far end reads: the first frame whole, then everyone's in order.
	br := bufio.NewReader(far)
	far.SetReadDeadline(time.Now().Add(10 * time.Second))
	if m, err := wire.ReadFrame(br, wire.DefaultMaxFrame); err != nil || m.(*wire.Vote).From != huge {
		t.Fatalf("first frame: %v", err)
	}
	next := make([]int, senders)
	for n := 0; n < senders*each; n++ {
		far.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, err := wire.ReadFrame(br, wire.DefaultMaxFrame)
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		v := m.(*wire.Vote)
		var s, i int
		if _, err := fmt.Sscanf(v.TxID, "s%d-%d", &s, &i); err != nil {
			t.Fatalf("frame %d: id %q", n, v.TxID)
		}
		if i != next[s] {
			t.Fatalf("sender %d: frame %d arrived when %d was due", s, i, next[s])
		}
		next[s]++
		if want := i%5 == 0; want != (v.From == big) {
			t.Fatalf("%s: From of %d bytes", v.TxID, len(v.From))
		}
	}
	wg.Wait()
	t.Logf("%d frames finished by the writer after a partial direct write", c.direct.partial.Load())
}

// TestNoDirectPathOverPipes: only a plain TCP connection has a raw socket to
// write to; anything else (a pipe here, TLS in production) always queues.
func TestNoDirectPathOverPipes(t *testing.T) {
	c, _, _ := pipeConn(t, nil)
	if c.direct.raw != nil {
		t.Fatal("a non-TCP connection has a direct path")
	}
}

// TestDirectWriteAfterStaleDeadline: the writer goroutine leaves a write
// deadline armed after its last write; a connection that then uses only
// the direct path for longer than the frame timeout must keep working
// (not closed by the first direct write after the deadline).
func TestDirectWriteAfterStaleDeadline(t *testing.T) {
	nc, far := dialPair(t)
	const timeout = 50 * time.Millisecond
	c := newConn(nc, bufio.NewReader(nc), wire.Hello{NodeID: "far"}, connConfig{timeout: timeout})
	go c.readLoop()
	t.Cleanup(func() {
		far.Close()
		c.Close()
		c.wait()
	})
	fr := bufio.NewReader(far)
	expect := func(want string) {
		t.Helper()
		far.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, err := wire.ReadFrame(fr, 1<<20)
		if err != nil {
			t.Fatalf("reading %s: %v", want, err)
		}
		if v, ok := m.(*wire.Vote); !ok || v.TxID != want {
			t.Fatalf("got %#v, want vote %s", m, want)
		}
	}
	// A frame through the writer (the direct path is barred while "last"
	// lies ahead), which arms the write deadline; then open the direct
	// path again.
	c.direct.last.Store(1 << 62)
	if err := c.Send(&wire.Vote{TxID: "queued", From: "B"}); err != nil {
		t.Fatal(err)
	}
	expect("queued")
	c.direct.last.Store(0)
	// Let the writer's deadline pass (time itself is what is waited for).
	time.Sleep(2 * timeout)
	if err := c.Send(&wire.Vote{TxID: "late", From: "B"}); err != nil {
		t.Fatalf("a direct write after the writer's deadline: %v", err)
	}
	expect("late")
	select {
	case <-c.Done():
		t.Fatalf("connection closed: %v", c.err)
	default:
	}
}
