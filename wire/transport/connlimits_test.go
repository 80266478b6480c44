package transport

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// dialAs handshakes by hand as id in role and returns the connection and
// the node's answer (a HelloAck, or the Error that refused it).
func dialAs(t *testing.T, addr, id string, role wire.Role) (net.Conn, *bufio.Reader, wire.Message) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	b, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: id, Role: role})
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := wire.ReadFrame(br, 0)
	if err != nil {
		t.Fatalf("handshake of %s %s: %v", role, id, err)
	}
	nc.SetReadDeadline(time.Time{})
	return nc, br, m
}

// stillOpen checks that the node has not closed nc (nothing to read, no EOF
// within a short wait).
func stillOpen(t *testing.T, nc net.Conn, what string) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := nc.Read(make([]byte, 1))
	nc.SetReadDeadline(time.Time{})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: closed or sent something: %v", what, err)
	}
}

// TestQueueByteBound: a peer that does not read is dropped once what waits
// for it passes the byte bound, long before the frame-count bound; a single
// frame larger than the bound still goes.
func TestQueueByteBound(t *testing.T) {
	a, far := net.Pipe() // writes block until far reads: a peer that does not
	defer far.Close()
	h := &coordinator{closed: make(chan error, 1)}
	const bound = 64 << 10
	c := newConn(a, bufio.NewReader(a), wire.Hello{NodeID: "far"}, connConfig{handler: h, maxQueued: bound})
	go c.readLoop()
	defer func() { c.Close(); c.wait() }()

	big := &wire.Status{Store: map[string]string{"k": strings.Repeat("x", 2*bound)}}
	if err := c.Send(big); err != nil {
		t.Fatalf("one frame over the bound, on an empty queue: %v", err)
	}
	small := &wire.Status{Store: map[string]string{"k": strings.Repeat("x", 10<<10)}}
	var err error
	sent := 0
	for ; sent < 100 && err == nil; sent++ {
		err = c.Send(small)
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("after %d frames of 10 KiB to a peer that reads nothing: %v, want ErrQueueFull", sent, err)
	}
	if sent > 3 {
		t.Fatalf("%d frames of 10 KiB queued behind a %d KiB one, bound %d KiB", sent-1, 2*bound>>10, bound>>10)
	}
	if err := recv(t, h.closed); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("HandleClose(%v), want ErrQueueFull", err)
	}
}

// TestQueueBytesDrain: the bound counts what is not yet written, so a peer
// that reads may be sent any amount.
func TestQueueBytesDrain(t *testing.T) {
	a, far := net.Pipe()
	defer far.Close()
	c := newConn(a, bufio.NewReader(a), wire.Hello{NodeID: "far"}, connConfig{maxQueued: 64 << 10})
	go c.readLoop()
	defer func() { c.Close(); c.wait() }()
	br := bufio.NewReader(far)
	m := &wire.Status{Store: map[string]string{"k": strings.Repeat("x", 10<<10)}}
	for i := range 100 { // 1 MiB in all, 16 times the bound
		if err := c.Send(m); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		far.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := wire.ReadFrame(br, 0); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// The writer counts a frame off once its write returns, just after
	// the peer has it.
	eventually(t, func() bool { return c.Queued() == 0 }, "the queue to count nothing once the peer read everything (%d bytes)", c.Queued())
}

// TestIdleClientClosed: a client that sends nothing for the idle timeout is
// told so and closed; a client that keeps talking and a known peer that
// says nothing are not.
func TestIdleClientClosed(t *testing.T) {
	const idle = 200 * time.Millisecond
	s := serve(t, ServerConfig{
		Handler:     &coordinator{},
		IdleTimeout: idle,
		Known:       func(h *wire.Hello) bool { return h.NodeID == "B" },
	})
	start := time.Now()
	quiet, br, _ := dialAs(t, s.Addr().String(), "quiet", wire.RoleClient)
	busy, busyR, _ := dialAs(t, s.Addr().String(), "busy", wire.RoleClient)
	peer, _, _ := dialAs(t, s.Addr().String(), "B", wire.RoleParticipant)

	// busy asks for status every idle/4 until quiet is closed.
	quietClosed := make(chan wire.Message, 1)
	go func() {
		quiet.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, _ := wire.ReadFrame(br, 0)
		quietClosed <- m
	}()
	tick := time.NewTicker(idle / 4)
	defer tick.Stop()
	var farewell wire.Message
	giveUp := time.After(10 * idle)
	for farewell == nil {
		select {
		case <-giveUp:
			t.Fatalf("the idle client still open after %v", 10*idle)
		case farewell = <-quietClosed:
		case <-tick.C:
			b, _ := wire.AppendFrame(nil, &wire.StatusReq{ReqID: 1})
			if _, err := busy.Write(b); err != nil {
				t.Fatalf("the busy client: %v", err)
			}
			busy.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := wire.ReadFrame(busyR, 0); err != nil {
				t.Fatalf("the busy client was closed: %v", err)
			}
		}
	}
	took := time.Since(start)
	if e, ok := farewell.(*wire.Error); !ok || e.Code != wire.ErrIdle {
		t.Fatalf("the idle client got %v, want an Error (idle)", farewell)
	}
	closedByPeer(t, quiet)
	if took < idle {
		t.Fatalf("closed after %v, before the idle timeout %v", took, idle)
	}
	// Up to twice the timeout, the silent peer is kept, and the busy client.
	for mark := time.Now(); time.Since(mark) < idle; {
		stillOpen(t, peer, "a known peer's idle connection")
	}
	b, _ := wire.AppendFrame(nil, &wire.StatusReq{ReqID: 2})
	busy.Write(b)
	busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := wire.ReadFrame(busyR, 0); err != nil {
		t.Fatalf("the busy client was closed: %v", err)
	}
}

// TestClientCap: clients over MaxClients are refused with a busy Error,
// while a known peer is always admitted; a stranger claiming to be a node
// is counted as a client; a freed slot is taken again.
func TestClientCap(t *testing.T) {
	s := serve(t, ServerConfig{
		Handler:    &coordinator{},
		MaxClients: 2,
		Known:      func(h *wire.Hello) bool { return h.NodeID == "B" || h.NodeID == "C" },
	})
	addr := s.Addr().String()
	first, _, m1 := dialAs(t, addr, "c1", wire.RoleClient)
	_, _, m2 := dialAs(t, addr, "c2", wire.RoleParticipant) // a stranger posing as a node
	for i, m := range []wire.Message{m1, m2} {
		if m.Type() != wire.TypeHelloAck {
			t.Fatalf("client %d under the cap: %v", i+1, m)
		}
	}
	_, err := DialClient(ctxT(t), addr)
	if !errors.Is(err, wire.ErrBusy) || !strings.Contains(err.Error(), "too many client connections") {
		t.Fatalf("a third client: %v, want a busy refusal", err)
	}
	for _, id := range []string{"B", "C"} {
		if _, _, m := dialAs(t, addr, id, wire.RoleParticipant); m.Type() != wire.TypeHelloAck {
			t.Fatalf("known peer %s over the client cap: %v", id, m)
		}
	}
	first.Close()
	eventually(t, func() bool {
		cl, err := DialClient(ctxT(t), addr)
		if err != nil {
			return false
		}
		cl.Close()
		return true
	}, "a client to take the freed slot")
}

// TestPeerReplacesOldest: a known peer holds at most perPeerConns
// connections; a newer one closes its oldest.
func TestPeerReplacesOldest(t *testing.T) {
	s := serve(t, ServerConfig{
		Handler: &coordinator{},
		Known:   func(h *wire.Hello) bool { return h.NodeID == "B" },
	})
	var conns []net.Conn
	for range perPeerConns + 1 {
		nc, _, m := dialAs(t, s.Addr().String(), "B", wire.RoleParticipant)
		if m.Type() != wire.TypeHelloAck {
			t.Fatalf("B refused: %v", m)
		}
		conns = append(conns, nc)
	}
	closedByPeer(t, conns[0])
	for _, nc := range conns[1:] {
		stillOpen(t, nc, "a newer connection of B")
	}
}

func TestLimitsFor(t *testing.T) {
	for _, nofile := range []uint64{128, 256, 1024, 2048, 4096, 1 << 20, 1 << 63} {
		l := LimitsFor(nofile)
		if l.Handshaking < 8 || l.Peers < 4 || l.Clients < 8 || l.Clients > maxClientsCeiling {
			t.Errorf("LimitsFor(%d) = %+v", nofile, l)
		}
		if sum := uint64(l.Handshaking + l.Peers + l.Clients + fdReserve); sum > nofile {
			t.Errorf("LimitsFor(%d) = %+v: %d descriptors with the reserve", nofile, l, sum)
		}
	}
	if l := LimitsFor(1 << 20); l.Handshaking != DefaultMaxHandshaking || l.Peers != DefaultMaxPeers || l.Clients != maxClientsCeiling {
		t.Errorf("LimitsFor(1M) = %+v", l)
	}
}
