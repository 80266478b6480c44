package transport

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// grabber is a Handler that keeps each connection by the id its dialer
// gave, once it has sent a frame, and passes every message on.
type grabber struct {
	mu    sync.Mutex // protects conns
	conns map[string]*Conn
	got   chan wire.Message
}

func (g *grabber) HandleMessage(c *Conn, m wire.Message) {
	g.mu.Lock()
	g.conns[c.Remote().NodeID] = c
	g.mu.Unlock()
	if g.got != nil {
		g.got <- m
	}
}

func (g *grabber) HandleClose(*Conn, error) {}

func (g *grabber) conn(id string) *Conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[id]
}

// fillQueue sends big frames on c until at least want bytes wait for its
// peer (which does not read), or c is dropped; it reports whether c is
// still up.
func fillQueue(c *Conn, want int64, m wire.Message) bool {
	for range 600 { // ~38 MiB: more than loopback's socket buffers take
		if err := c.Send(m); err != nil {
			return false
		}
		if c.Queued() >= want {
			return true
		}
	}
	return !c.closing()
}

// TestClientSendBudget: clients that do not read share one send budget:
// six of them, each allowed 1 MiB on its own, cannot hold more than the
// node's 1 MiB together (the one holding the most is dropped), a known
// peer that does not read is outside the budget, and a client that reads
// still gets its replies.
func TestClientSendBudget(t *testing.T) {
	const (
		budget  = 1 << 20
		perConn = 512 << 10
		clients = 6
	)
	g := &grabber{conns: map[string]*Conn{}}
	s := serve(t, ServerConfig{
		Handler:         g,
		ClientSendBytes: budget,
		MaxQueueBytes:   2 * perConn,
		Known:           func(h *wire.Hello) bool { return h.NodeID == "B" },
	})
	ids := []string{"B", "reader"}
	for i := range clients {
		ids = append(ids, "slow"+string(rune('0'+i)))
	}
	req, _ := wire.AppendFrame(nil, &wire.StatusReq{ReqID: 1})
	readerNC, readerBR, _ := dialAs(t, s.Addr().String(), "reader", wire.RoleClient)
	for _, id := range ids {
		nc := readerNC
		if id != "reader" {
			role := wire.RoleClient
			if id == "B" {
				role = wire.RoleParticipant
			}
			nc, _, _ = dialAs(t, s.Addr().String(), id, role)
		}
		if _, err := nc.Write(req); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool {
		for _, id := range ids {
			if g.conn(id) == nil {
				return false
			}
		}
		return true
	}, "every connection to say something")

	big := &wire.Status{Store: map[string]string{"k": strings.Repeat("x", 64<<10)}}
	if !fillQueue(g.conn("B"), 2*budget, big) {
		t.Fatal("a known peer that does not read was dropped by the clients' budget")
	}
	for i := range clients {
		fillQueue(g.conn(ids[2+i]), perConn, big)
		// A dropped client's bytes count until its writer has returned
		// them, so the bound holds once the dropped ones have settled.
		eventually(t, func() bool { q, _ := s.ClientBytes(); return q <= budget+2*(65<<10) },
			"the clients' queued bytes to be back within the budget")
	}
	up := 0
	for i := range clients {
		if !g.conn(ids[2+i]).closing() {
			up++
		}
	}
	if up == clients {
		t.Fatalf("all %d slow clients kept %d bytes each queued within a budget of %d", clients, perConn, budget)
	}
	eventually(t, func() bool { q, _ := s.ClientBytes(); return q <= budget },
		"the dropped clients' bytes to be given back")

	// The reader is served: it reads what it asks for at once.
	if err := g.conn("reader").Send(&wire.Status{ReqID: 7}); err != nil {
		t.Fatalf("a client that reads: %v", err)
	}
	readerNC.SetReadDeadline(time.Now().Add(5 * time.Second))
	if m, err := wire.ReadFrame(readerBR, 0); err != nil || m.(*wire.Status).ReqID != 7 {
		t.Fatalf("a client that reads: %v %v", m, err)
	}
	if g.conn("B").closing() {
		t.Fatal("the known peer was dropped")
	}
}

// TestClientReadBudget: a client frame too large for the read buffer waits
// for the node's read budget while another client's half-sent frame holds
// it, and is read once that one is cut at its frame deadline; a known
// peer's large frame is never held up by it.
func TestClientReadBudget(t *testing.T) {
	const timeout = 500 * time.Millisecond
	g := &grabber{conns: map[string]*Conn{}, got: make(chan wire.Message, 16)}
	s := serve(t, ServerConfig{
		Handler:         g,
		ClientReadBytes: 100 << 10,
		FrameTimeout:    timeout,
		Known:           func(h *wire.Hello) bool { return h.NodeID == "B" },
	})
	addr := s.Addr().String()
	bigStart := func(id string) []byte {
		b, _ := wire.AppendFrame(nil, &wire.Start{ReqID: 1, TxID: id, Protocol: wire.TwoPC,
			Ops: []wire.Op{{Kind: wire.OpSet, Key: "k", Value: strings.Repeat("x", 60<<10)}}})
		return b
	}

	// A declares a 90 KiB frame and sends ten bytes of it.
	half, _, _ := dialAs(t, addr, "half", wire.RoleClient)
	if _, err := half.Write([]byte{0, 1, 0x68, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { _, r := s.ClientBytes(); return r == 0x16800 },
		"the half frame to hold its declared length")
	held := time.Now()

	peer, _, _ := dialAs(t, addr, "B", wire.RoleParticipant)
	if _, err := peer.Write(bigStart("from-peer")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-g.got:
		if m.(*wire.Start).TxID != "from-peer" {
			t.Fatalf("got %v first", m)
		}
	case <-time.After(timeout / 2):
		t.Fatal("a known peer's large frame waited for the clients' read budget")
	}

	other, _, _ := dialAs(t, addr, "other", wire.RoleClient)
	if _, err := other.Write(bigStart("from-client")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-g.got:
		if since := time.Since(held); since < timeout/2 {
			t.Fatalf("a second client's large frame (%v) was read %v after the budget was spent", m.(*wire.Start).TxID, since)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting frame was never read once the half frame was cut")
	}
	closedWithin(t, half, 5*time.Second)
	eventually(t, func() bool { _, r := s.ClientBytes(); return r == 0 }, "the read budget to be given back")
}

// TestReadBudgetWaitEndsOnClose: a frame waiting for read budget gives up
// as soon as its connection is closed, not at its frame deadline (a
// connection the idle check or the node closes must not keep its reader
// goroutine, and the server's Close, waiting).
func TestReadBudgetWaitEndsOnClose(t *testing.T) {
	b := newReadBudget(100)
	if n, err := b.acquire(80, time.Now().Add(time.Minute), nil); n != 80 || err != nil {
		t.Fatalf("the first frame: %d %v", n, err)
	}
	done := make(chan struct{})
	got := make(chan error, 1)
	go func() {
		_, err := b.acquire(60, time.Now().Add(time.Minute), done)
		got <- err
	}()
	eventually(t, func() bool { return b.waiting.Load() == 1 }, "the second frame to wait")
	close(done)
	select {
	case err := <-got:
		if err != ErrClosed {
			t.Fatalf("the waiting frame: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting frame still waits after its connection closed")
	}
	b.release(80)
	if n, err := b.acquire(100, time.Now().Add(time.Second), nil); n != 100 || err != nil {
		t.Fatalf("the whole budget once given back: %d %v", n, err)
	}
}
