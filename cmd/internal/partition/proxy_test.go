package partition

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// Bytes pass both ways unchanged, the Hello included, when nothing is cut.
func TestForwardsBothWays(t *testing.T) {
	n, a, srv := aDialsB(t)
	flows(t, a, srv, "ping")
	flows(t, srv, a, "pong")
	if d := n.Proxy("B").Dialed("A"); d != 1 {
		t.Errorf("B's proxy counts %d connections from A, want 1", d)
	}
}

// Cut(A, B) holds what A sends to B, on A's connection to B and on B's
// connection to A alike, and leaves B to A flowing; Heal delivers the held
// bytes in order.
func TestCutOneDirection(t *testing.T) {
	n := newNet(t)
	ta, tb := newTarget(t), newTarget(t)
	pa, pb := add(t, n, "A", ta.addr()), add(t, n, "B", tb.addr())
	aToB := dialAs(t, pb.Addr(), "A") // A dialed B
	atB := tb.acceptHello(t, "A")
	bToA := dialAs(t, pa.Addr(), "B") // B dialed A
	atA := ta.acceptHello(t, "B")

	n.Cut("A", "B")
	if !n.IsCut("A", "B") || n.IsCut("B", "A") {
		t.Fatal("Cut(A, B) did not cut exactly A to B")
	}
	send(t, aToB, "a1")
	send(t, atA, "a2") // A answering on B's connection
	silent(t, atB)
	silent(t, bToA)

	flows(t, atB, aToB, "b1") // B to A still flows, both ways round
	flows(t, bToA, atA, "b2")

	send(t, aToB, "a3")
	n.Heal("A", "B")
	expect(t, atB, "a1a3")
	expect(t, bToA, "a2")
}

// A connection whose dialer is cut from the target does not reach the
// target until the link heals; another dialer gets through meanwhile.
func TestNewConnectionDuringCut(t *testing.T) {
	n := newNet(t)
	b := newTarget(t)
	p := add(t, n, "B", b.addr())
	n.Cut("A", "B")
	a := dialAs(t, p.Addr(), "A")
	send(t, a, "held")
	b.none(t)

	c := dialAs(t, p.Addr(), "C")
	flows(t, c, b.acceptHello(t, "C"), "free")

	waitUntil(t, "B's proxy counts the held connection from A", func() bool { return p.Dialed("A") == 1 })
	n.Heal("A", "B")
	srv := b.acceptHello(t, "A")
	expect(t, srv, "held")
	flows(t, srv, a, "back")
}

// A cut in the other direction (target to dialer) lets the new connection
// reach the target but holds the answer.
func TestNewConnectionReverseCut(t *testing.T) {
	n := newNet(t)
	b := newTarget(t)
	p := add(t, n, "B", b.addr())
	n.Cut("B", "A")
	a := dialAs(t, p.Addr(), "A")
	srv := b.acceptHello(t, "A")
	send(t, srv, "ack")
	silent(t, a)
	n.HealAll()
	expect(t, a, "ack")
}

// Partition cuts every link between groups, both ways, and nothing else;
// it replaces the cuts before it.
func TestPartitionGroups(t *testing.T) {
	n := newNet(t)
	n.Cut("B", "C")
	n.Partition([]string{"COORD", "B"}, []string{"C"})
	for _, l := range []link{{"COORD", "C"}, {"C", "COORD"}, {"B", "C"}, {"C", "B"}} {
		if !n.IsCut(l.from, l.to) {
			t.Errorf("%s to %s not cut", l.from, l.to)
		}
	}
	for _, l := range []link{{"COORD", "B"}, {"B", "COORD"}} {
		if n.IsCut(l.from, l.to) {
			t.Errorf("%s to %s cut inside a group", l.from, l.to)
		}
	}
	n.Partition([]string{"COORD"}, []string{"B"})
	if n.IsCut("B", "C") || !n.IsCut("B", "COORD") {
		t.Error("a second Partition did not replace the first")
	}
	n.HealAll()
	if n.IsCut("B", "COORD") {
		t.Error("HealAll left a cut")
	}
}

// The end of the stream is a byte like the others: held by a cut,
// delivered on heal.
func TestCloseIsHeldLikeData(t *testing.T) {
	n, a, srv := aDialsB(t)
	n.Cut("A", "B")
	send(t, a, "last")
	a.Close()
	silent(t, srv)
	n.Heal("A", "B")
	expect(t, srv, "last")
	closed(t, srv)
}

// A first frame that is not a Hello is forwarded unchanged, and without an
// identity no cut applies to the connection.
func TestUnidentifiedIsForwarded(t *testing.T) {
	n := newNet(t)
	b := newTarget(t)
	p := add(t, n, "B", b.addr())
	n.Partition([]string{"A"}, []string{"B"})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send(t, c, "\x16\x03\x01\x02\x00 not a txd frame")
	srv := b.next(t)
	expect(t, srv, "\x16\x03\x01\x02\x00 not a txd frame")
}

// A target that is down: the dialer's connection is closed, as if
// refused.
func TestTargetDown(t *testing.T) {
	n := newNet(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	p := add(t, n, "B", down)
	a := dialAs(t, p.Addr(), "A")
	closed(t, a)

	b := newTarget(t)
	p.SetTarget(b.addr())
	a = dialAs(t, p.Addr(), "A")
	b.acceptHello(t, "A")
}

// Close with connections open, some of them holding bytes behind a cut and
// one held before its target was dialed: it returns, every connection is
// closed, and no goroutine is left (TestMain checks).
func TestCloseWithOpenConnections(t *testing.T) {
	n := New()
	ta, tb := newTarget(t), newTarget(t)
	pa, pb := add(t, n, "A", ta.addr()), add(t, n, "B", tb.addr())
	aToB := dialAs(t, pb.Addr(), "A")
	atB := tb.acceptHello(t, "A")
	bToA := dialAs(t, pa.Addr(), "B")
	atA := ta.acceptHello(t, "B")
	n.Cut("A", "B")
	send(t, aToB, "held")
	send(t, atA, "held too")
	pending := dialAs(t, pb.Addr(), "A") // held before the dial
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []net.Conn{aToB, atB, bToA, atA, pending} {
		closed(t, c)
	}
	if pa.Conns()+pb.Conns() != 0 {
		t.Fatalf("%d connections left open", pa.Conns()+pb.Conns())
	}
	if _, err := net.Dial("tcp", pb.Addr()); err == nil {
		t.Fatal("the listener still accepts")
	}
	if _, err := n.Add("C", tb.addr()); err == nil {
		t.Fatal("Add after Close succeeded")
	}
}

// Cuts and heals from many goroutines while bytes stream both ways: once
// everything is healed, every byte has arrived, in order.
func TestConcurrentCutsKeepOrder(t *testing.T) {
	n, a, srv := aDialsB(t)

	const rounds = 200
	var want strings.Builder
	for i := range rounds {
		fmt.Fprintf(&want, "%04d", i)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range rounds {
				switch (i + g) % 4 {
				case 0:
					n.Cut("A", "B")
				case 1:
					n.Heal("A", "B")
				case 2:
					n.Partition([]string{"A"}, []string{"B"})
				default:
					n.HealAll()
				}
			}
		})
	}
	wg.Go(func() {
		for i := range rounds {
			fmt.Fprintf(a, "%04d", i)
			fmt.Fprintf(srv, "%04d", i)
		}
	})
	wg.Wait()
	n.HealAll()
	expect(t, srv, want.String())
	expect(t, a, want.String())
}
