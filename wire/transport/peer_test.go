package transport

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

type peerState struct {
	up     bool
	remote wire.HelloAck
}

func TestPeerReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	h1 := &coordinator{got: make(chan wire.Message, 10)}
	s1 := serveOn(t, ln, ServerConfig{Self: wire.HelloAck{NodeID: "coord", Role: wire.RoleCoordinator}, Handler: h1})

	states := make(chan peerState, 10)
	ph := &coordinator{closed: make(chan error, 10)}
	p := NewPeer(PeerConfig{
		Addr:    addr,
		Self:    wire.Hello{NodeID: "A", Role: wire.RoleParticipant},
		Handler: ph,
		OnState: func(_ *Peer, up bool, remote wire.HelloAck) { states <- peerState{up, remote} },
	})
	defer p.Close()

	if st := recv(t, states); !st.up || st.remote.NodeID != "coord" || st.remote.Role != wire.RoleCoordinator {
		t.Fatalf("first OnState %+v", st)
	}
	eventually(t, p.Connected, "Connected()")
	if p.Remote().NodeID != "coord" || p.Addr() != addr {
		t.Fatalf("Remote() = %+v, Addr() = %s", p.Remote(), p.Addr())
	}
	if err := p.Send(&wire.Vote{TxID: "tx", From: "A", Yes: true}); err != nil {
		t.Fatal(err)
	}
	if v := recv(t, h1.got).(*wire.Vote); v.From != "A" {
		t.Fatalf("server got %+v", v)
	}

	// The server goes away: the Peer notices.
	s1.Close()
	if st := recv(t, states); st.up || st.remote.NodeID != "coord" {
		t.Fatalf("OnState after the server closed: %+v", st)
	}
	if err := recv(t, ph.closed); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("HandleClose(%v)", err)
	}
	if p.Connected() {
		t.Fatal("Connected() after the disconnect")
	}
	if err := p.Send(&wire.Vote{}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send while down: %v", err)
	}

	// It comes back on the same address, as another node: the Peer redials.
	var ln2 net.Listener
	eventually(t, func() bool {
		ln2, err = net.Listen("tcp", addr)
		return err == nil
	}, "to listen on %s again: %v", addr, err)
	h2 := &coordinator{got: make(chan wire.Message, 10)}
	serveOn(t, ln2, ServerConfig{Self: wire.HelloAck{NodeID: "coord2", Role: wire.RoleCoordinator}, Handler: h2})
	if st := recv(t, states); !st.up || st.remote.NodeID != "coord2" {
		t.Fatalf("OnState after the restart: %+v", st)
	}
	eventually(t, p.Connected, "Connected() after the restart")
	if p.Remote().NodeID != "coord2" {
		t.Fatalf("Remote() = %+v", p.Remote())
	}
	if err := p.Send(&wire.Ack{TxID: "tx", From: "A", State: wire.StateCommitted}); err != nil {
		t.Fatal(err)
	}
	recv(t, h2.got)

	p.Close()
	if st := recv(t, states); st.up {
		t.Fatalf("OnState at Close: %+v", st)
	}
	if err := recv(t, ph.closed); err != nil {
		t.Fatalf("HandleClose(%v) at a local Close", err)
	}
	if p.Connected() {
		t.Fatal("Connected() after Close")
	}
	p.Close() // idempotent
}

// TestPeerUnreachable: a Peer whose node is down reports so, and closes
// promptly in the middle of its backoff.
func TestPeerUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	p := NewPeer(PeerConfig{Addr: addr, Self: wire.Hello{NodeID: "A"}})
	if p.Connected() {
		t.Fatal("connected to nothing")
	}
	if err := p.Send(&wire.Vote{}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("got %v", err)
	}
	if p.Remote() != (wire.HelloAck{}) {
		t.Fatalf("Remote() = %+v before any connection", p.Remote())
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
}

// TestPeerRefused: a refusing node is retried, never reported up.
func TestPeerRefused(t *testing.T) {
	refusals := make(chan struct{}, 100)
	s := serve(t, ServerConfig{Accept: func(*wire.Hello) error {
		refusals <- struct{}{}
		return errors.New("go away")
	}})
	up := make(chan bool, 10)
	p := NewPeer(PeerConfig{
		Addr:    s.Addr().String(),
		Self:    wire.Hello{NodeID: "A"},
		OnState: func(_ *Peer, u bool, _ wire.HelloAck) { up <- u },
	})
	recv(t, refusals)
	recv(t, refusals) // it retried
	p.Close()
	select {
	case u := <-up:
		t.Fatalf("OnState(%v) for a refused peer", u)
	default:
	}
}

// TestPeerUnreachableSince: a node that went down is reported unreachable,
// with the dial's error, only by a dial begun after the asker's time; Redial
// cuts the backoff short to find out, and a reconnect clears it.
func TestPeerUnreachableSince(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	s := serveOn(t, ln, ServerConfig{Self: wire.HelloAck{NodeID: "B", Role: wire.RoleParticipant}, Handler: &coordinator{}})
	p := NewPeer(PeerConfig{Addr: addr, Self: wire.Hello{NodeID: "coord", Role: wire.RoleCoordinator}, Handler: &coordinator{}})
	defer p.Close()
	eventually(t, p.Connected, "Connected()")
	if err := p.Unreachable(time.Time{}); err != nil {
		t.Fatalf("Unreachable while connected: %v", err)
	}

	s.Close() // the node dies: its connection closes and redials are refused
	eventually(t, func() bool { return p.Unreachable(time.Time{}) != nil }, "a failed redial")
	if err := p.Unreachable(time.Time{}); !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Unreachable = %v, want the dial's refusal", err)
	}
	// The backoff has grown; a fresh question needs a fresh dial, which
	// Redial brings well before the backoff would (2 s at most).
	for range 6 {
		p.Redial()
		time.Sleep(60 * time.Millisecond)
	}
	since := time.Now()
	if err := p.Unreachable(since); err != nil {
		t.Fatalf("Unreachable(now) = %v before any dial since", err)
	}
	deadline := time.Now().Add(time.Second)
	for p.Unreachable(since) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Redial brought no fresh dial within 1s")
		}
		p.Redial()
		time.Sleep(5 * time.Millisecond)
	}

	// The node comes back on the same port: connected, reachable again.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	serveOn(t, ln2, ServerConfig{Self: wire.HelloAck{NodeID: "B", Role: wire.RoleParticipant}, Handler: &coordinator{}})
	eventually(t, func() bool { p.Redial(); return p.Connected() }, "reconnected")
	if err := p.Unreachable(time.Time{}); err != nil {
		t.Fatalf("Unreachable after the reconnect: %v", err)
	}
}
