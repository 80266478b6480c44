package main

// Garbage on the nodes' sockets, on real processes (conventions:
// helpers_test.go): it costs the sender its connection and nothing else.

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
)

// frameHeader is a frame's 4-byte big-endian length.
func frameHeader(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// handshaken connects to addr and completes a client handshake, so what
// follows reaches the connection's reader rather than the handshake.
func handshaken(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: "garbage-test", Role: wire.RoleClient})
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(hello); err != nil {
		t.Fatal(err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		t.Fatalf("reading the HelloAck: %v", err)
	}
	if _, err := io.CopyN(io.Discard, nc, int64(binary.BigEndian.Uint32(hdr[:]))); err != nil {
		t.Fatalf("reading the HelloAck: %v", err)
	}
	return nc
}

// Garbage on the nodes' sockets (HTTP, random bytes, absurd frame
// lengths, before and after a handshake) costs the sender its connection
// and nothing else: the nodes stay up and transactions still commit.
func TestGarbageOnSocket(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	seed := uint64(time.Now().UnixNano())
	t.Logf("random bytes seeded with %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}

	type attack struct {
		name      string
		handshake bool   // complete a client handshake first
		payload   []byte // then send this
		mustClose bool   // and the node must hang up at once
	}
	attacks := []attack{
		{"HTTP request", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), true},
		{"frame length 0x7fffffff", false, frameHeader(0x7fffffff), true},
		{"empty frame", false, frameHeader(0), true},
		{"random bytes", false, random(4096), false},
		{"frame length 0x7fffffff after handshake", true, frameHeader(0x7fffffff), true},
		{"unknown type after handshake", true, append(frameHeader(3), 0xee, 0x01, 0x02), true},
		{"random bytes after handshake", true, random(4096), false},
	}
	for _, target := range []*cluster.Node{c.Part("B"), c.Coord} {
		for _, a := range attacks {
			var nc net.Conn
			if a.handshake {
				nc = handshaken(t, target.Addr())
			} else {
				var err error
				if nc, err = net.DialTimeout("tcp", target.Addr(), 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			nc.SetDeadline(time.Now().Add(3 * time.Second))
			_, werr := nc.Write(a.payload)
			if a.mustClose {
				// The node answers at most an Error frame, then hangs up.
				_, rerr := io.Copy(io.Discard, nc)
				var ne net.Error
				if werr == nil && errors.As(rerr, &ne) && ne.Timeout() {
					t.Errorf("%s %s: %s: the connection is still open after 3s", target.Role, target.ID, a.name)
				}
			}
			nc.Close()
		}
		// A peer that connects and sends nothing is harmless too.
		idle, err := net.Dial("tcp", target.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
	}

	for _, n := range c.Nodes() {
		if !n.Running() {
			t.Fatalf("%s %s died", n.Role, n.ID)
		}
	}
	commit(t, c, "TX1", "SET", "balance", "1000")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "TX1 committed", all(inState("TX1", "COMMITTED"), hasValue("balance", "1000")))
	}
	for _, n := range c.Nodes() {
		if lines := n.LogLines("panic"); len(lines) > 0 {
			t.Errorf("%s %s logged a panic: %s", n.Role, n.ID, strings.Join(lines, "\n"))
		}
	}
}
