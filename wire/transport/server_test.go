package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialClient(t *testing.T, s *Server) *Client {
	t.Helper()
	cl, err := DialClient(ctxT(t), s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func TestHandshakeAndRequests(t *testing.T) {
	hellos := make(chan wire.Hello, 1)
	s := serve(t, ServerConfig{
		Self:    wire.HelloAck{NodeID: "coord", Role: wire.RoleCoordinator},
		Handler: &coordinator{},
		Accept:  func(h *wire.Hello) error { hellos <- *h; return nil },
	})
	cl := dialClient(t, s)

	if r := cl.Remote(); r.NodeID != "coord" || r.Role != wire.RoleCoordinator || r.Version != wire.Version {
		t.Fatalf("Remote() = %+v", r)
	}
	h := recv(t, hellos)
	if want := fmt.Sprintf("txcli-%d", os.Getpid()); h.NodeID != want || h.Role != wire.RoleClient || h.Version != wire.Version {
		t.Fatalf("server saw Hello %+v", h)
	}

	ops := []wire.Op{{Kind: wire.OpSet, Key: "a", Value: "1"}, {Kind: wire.OpDel, Key: "b"}}
	res, err := cl.Start(ctxT(t), "tx-1", wire.ThreePC, ops)
	if err != nil {
		t.Fatal(err)
	}
	if res.TxID != "tx-1" || res.Protocol != wire.ThreePC || res.Outcome != wire.StateCommitted || res.Reason != "2" {
		t.Fatalf("StartResult %+v", res)
	}
	st, err := cl.Status(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.NodeID != "coord" || st.Role != wire.RoleCoordinator {
		t.Fatalf("Status %+v", st)
	}
}

// TestConcurrentCalls checks replies reach the call that asked, with many
// calls in flight on one connection.
func TestConcurrentCalls(t *testing.T) {
	s := serve(t, ServerConfig{Handler: &coordinator{}})
	cl := dialClient(t, s)
	const workers, calls = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				txid := fmt.Sprintf("tx-%d-%d", w, i)
				ops := make([]wire.Op, 1+(w+i)%5)
				for k := range ops {
					ops[k] = wire.Op{Kind: wire.OpAdd, Key: "k", Delta: int64(k)}
				}
				res, err := cl.Start(ctxT(t), txid, wire.TwoPC, ops)
				if err != nil {
					errs <- err
					return
				}
				if res.TxID != txid || res.Reason != fmt.Sprint(len(ops)) {
					errs <- fmt.Errorf("call %s got the reply %+v", txid, res)
					return
				}
				if i%10 == 0 {
					if _, err := cl.Status(ctxT(t)); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConnectionLostMidCall(t *testing.T) {
	h := &coordinator{got: make(chan wire.Message, 10)}
	s := serve(t, ServerConfig{Handler: h})
	cl := dialClient(t, s)

	errc := make(chan error, 1)
	go func() {
		_, err := cl.Start(ctxT(t), "hold", wire.TwoPC, []wire.Op{{Kind: wire.OpDel, Key: "k"}})
		errc <- err
	}()
	recv(t, h.got) // the request is at the server, unanswered
	s.Close()
	err := recv(t, errc)
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("mid-call loss: %v, want ErrConnectionLost", err)
	}
	// A later call never leaves: its outcome is known (it did not run).
	_, err = cl.Start(ctxT(t), "later", wire.TwoPC, []wire.Op{{Kind: wire.OpDel, Key: "k"}})
	if !errors.Is(err, ErrClosed) || errors.Is(err, ErrConnectionLost) {
		t.Fatalf("call after the loss: %v, want ErrClosed", err)
	}
}

// TestErrorThenClose: a handler's Send followed by Close still delivers.
func TestErrorThenClose(t *testing.T) {
	s := serve(t, ServerConfig{Handler: &coordinator{}})
	cl := dialClient(t, s)
	_, err := cl.Start(ctxT(t), "refuse", wire.TwoPC, []wire.Op{{Kind: wire.OpDel, Key: "k"}})
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.ErrShutdown || re.Msg != "going away" {
		t.Fatalf("got %v, want the Error frame sent before Close", err)
	}
	if !errors.Is(err, wire.ErrShutdown) || errors.Is(err, wire.ErrHandshake) {
		t.Fatalf("%v should match ErrShutdown only", err)
	}
}

// TestFarewell: a connection-level Error before the close tells pending
// calls why their connection was lost.
func TestFarewell(t *testing.T) {
	s := serve(t, ServerConfig{Handler: &coordinator{}})
	cl := dialClient(t, s)
	_, err := cl.Start(ctxT(t), "bye", wire.TwoPC, []wire.Op{{Kind: wire.OpDel, Key: "k"}})
	if !errors.Is(err, ErrConnectionLost) || !errors.Is(err, wire.ErrShutdown) || !strings.Contains(err.Error(), "node stopping") {
		t.Fatalf("got %v", err)
	}
	var re *wire.RemoteError
	if errors.As(err, &re) {
		t.Fatalf("%v passes for a refusal, but its outcome is unknown", err)
	}
}

func TestCallContextCancelled(t *testing.T) {
	s := serve(t, ServerConfig{Handler: &coordinator{}})
	cl := dialClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := cl.Start(ctx, "hold", wire.TwoPC, []wire.Op{{Kind: wire.OpDel, Key: "k"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// The connection is still good.
	if _, err := cl.Start(ctxT(t), "next", wire.TwoPC, []wire.Op{{Kind: wire.OpDel, Key: "k"}}); err != nil {
		t.Fatal(err)
	}
}

func TestVersionMismatchRefusedByServer(t *testing.T) {
	var log logBuf
	s := serve(t, ServerConfig{Handler: &coordinator{}, Logger: log.logger()})
	_, err := Dial(ctxT(t), s.Addr().String(), wire.Hello{Version: wire.Version + 1, NodeID: "future", Role: wire.RoleParticipant}, nil, 0)
	var re *wire.RemoteError
	if !errors.Is(err, wire.ErrHandshake) || !errors.As(err, &re) {
		t.Fatalf("got %v, want a *RemoteError matching ErrHandshake", err)
	}
	want := fmt.Sprintf("speaks version %d", wire.Version)
	if !strings.Contains(err.Error(), "protocol version mismatch") || !strings.Contains(err.Error(), want) {
		t.Fatalf("unclear error: %v", err)
	}
	log.waitLog(t, "level=WARN", "protocol version mismatch", "remote=127.0.0.1:")
}

func TestVersionMismatchDetectedByDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer nc.Close()
		if _, err := wire.ReadFrame(bufio.NewReader(nc), 0); err != nil {
			done <- err
			return
		}
		b, _ := wire.AppendFrame(nil, &wire.HelloAck{Version: wire.Version + 1, NodeID: "future", Role: wire.RoleCoordinator})
		_, err = nc.Write(b)
		done <- err
	}()
	_, err = Dial(ctxT(t), ln.Addr().String(), wire.Hello{NodeID: "A", Role: wire.RoleParticipant}, nil, 0)
	if !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), "protocol version mismatch") {
		t.Fatalf("got %v, want a version mismatch matching ErrHandshake", err)
	}
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestAcceptRefuses(t *testing.T) {
	s := serve(t, ServerConfig{
		Handler: &coordinator{},
		Accept: func(h *wire.Hello) error {
			if h.Role != wire.RoleParticipant {
				return fmt.Errorf("%s %q is not a participant", h.Role, h.NodeID)
			}
			return nil
		},
	})
	_, err := DialClient(ctxT(t), s.Addr().String())
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.ErrHandshake || !strings.Contains(re.Msg, "is not a participant") {
		t.Fatalf("got %v", err)
	}
	c, err := Dial(ctxT(t), "http://"+s.Addr().String(), wire.Hello{NodeID: "A", Role: wire.RoleParticipant}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.wait()
}

// TestGarbageConnections: each bad connection is logged and closed; a good
// client on the same server is unaffected.
func TestGarbageConnections(t *testing.T) {
	var log logBuf
	s := serve(t, ServerConfig{Handler: &coordinator{}, Logger: log.logger(), HandshakeTimeout: time.Second})
	cl := dialClient(t, s)

	noise := make([]byte, 512)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	bad := map[string][]byte{
		"HTTP":      []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"noise":     noise,
		"oversize":  {0x7f, 0xff, 0xff, 0xff, 1, 2, 3},
		"bad type":  frame(99, 0xc0),
		"bomb":      frame(wire.TypeHello, 0xdd, 0xff, 0xff, 0xff, 0xff),
		"not Hello": frame(wire.TypeVote, 0x90),
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			nc, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write(b); err != nil {
				t.Fatal(err)
			}
			closedByPeer(t, nc)
			if _, err := cl.Start(ctxT(t), "tx-"+name, wire.TwoPC, []wire.Op{{Kind: wire.OpDel, Key: "k"}}); err != nil {
				t.Fatalf("good client after %s: %v", name, err)
			}
		})
	}
	log.waitLog(t, "HTTP request", "frame too large", "unknown message type", "declares 4294967295 values", "expected Hello")

	// And after the handshake: garbage from an established peer.
	c, err := Dial(ctxT(t), s.Addr().String(), wire.Hello{NodeID: "A", Role: wire.RoleParticipant}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.wait()
	c.nc.Write(frame(wire.TypeVote, 0xc6, 0xff, 0xff, 0xff, 0xff))
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept a connection that sent a bomb")
	}
	log.waitLog(t, "dropping connection", "peer=A")
	if _, err := cl.Status(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// rawHello opens a connection and handshakes by hand.
func rawHello(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: "raw", Role: wire.RoleParticipant})
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if m, err := wire.ReadFrame(br, 0); err != nil || m.Type() != wire.TypeHelloAck {
		t.Fatalf("handshake: %v %v", m, err)
	}
	nc.SetReadDeadline(time.Time{})
	return nc, br
}

func TestStalledPeersClosed(t *testing.T) {
	const timeout = 150 * time.Millisecond
	var log logBuf
	h := &coordinator{}
	s := serve(t, ServerConfig{Handler: h, Logger: log.logger(), HandshakeTimeout: timeout, FrameTimeout: timeout})

	t.Run("half a Hello", func(t *testing.T) {
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		b, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: "slow"})
		nc.Write(b[:len(b)-2])
		closedByPeer(t, nc)
	})
	t.Run("no Hello at all", func(t *testing.T) {
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		closedByPeer(t, nc)
	})
	for _, cut := range []int{2, 6} { // inside the header, inside the body
		t.Run(fmt.Sprintf("half a frame, cut at %d", cut), func(t *testing.T) {
			nc, _ := rawHello(t, s.Addr().String())
			defer nc.Close()
			b, _ := wire.AppendFrame(nil, &wire.Vote{TxID: "tx", From: "raw", Yes: true})
			start := time.Now()
			nc.Write(b[:cut])
			closedByPeer(t, nc)
			if d := time.Since(start); d < timeout/2 {
				t.Fatalf("closed after %v, before the frame timeout", d)
			}
		})
	}
	log.waitLog(t, "frame not completed within 150ms")

	t.Run("idle is fine", func(t *testing.T) {
		nc, br := rawHello(t, s.Addr().String())
		defer nc.Close()
		// Not a synchronisation sleep: idleness longer than the frame
		// timeout is the condition under test.
		time.Sleep(3 * timeout)
		b, _ := wire.AppendFrame(nil, &wire.StatusReq{ReqID: 5})
		if _, err := nc.Write(b); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, err := wire.ReadFrame(br, 0)
		if err != nil {
			t.Fatalf("an idle connection was dropped: %v", err)
		}
		if st, ok := m.(*wire.Status); !ok || st.ReqID != 5 {
			t.Fatalf("got %#v", m)
		}
	})
}

// TestServerClose: Close ends every connection, calls HandleClose(nil) for
// each and returns only when their goroutines are gone.
func TestServerClose(t *testing.T) {
	h := &coordinator{}
	s := serve(t, ServerConfig{Handler: h})
	var clients []*Client
	for range 5 {
		clients = append(clients, dialClient(t, s))
	}
	for _, cl := range clients {
		if _, err := cl.Status(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	closes := h.closes
	h.mu.Unlock()
	if len(closes) != 5 {
		t.Fatalf("%d HandleClose calls, want 5", len(closes))
	}
	for _, err := range closes {
		if err != nil {
			t.Errorf("HandleClose(%v) after a local Close, want nil", err)
		}
	}
	for _, cl := range clients {
		select {
		case <-cl.conn.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a client did not notice the server closing")
		}
	}
	if _, err := DialClient(ctxT(t), s.Addr().String()); err == nil {
		t.Fatal("dialled a closed server")
	}
}

func TestDialCancelled(t *testing.T) {
	// A listener that accepts (the kernel does) but never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Dial(ctx, ln.Addr().String(), wire.Hello{NodeID: "A"}, nil, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Dial ignored its context for %v", d)
	}
}

func TestDialBadAddr(t *testing.T) {
	if _, err := Dial(ctxT(t), "nonsense", wire.Hello{}, nil, 0); err == nil {
		t.Fatal("dialled nonsense")
	}
}

// TestServerRefusesClientAnswers: a Server's connection drops a peer that
// sends it an answer only a client reads.
func TestServerRefusesClientAnswers(t *testing.T) {
	s := serve(t, ServerConfig{Handler: &coordinator{}})
	nc, _ := rawHello(t, s.Addr().String())
	defer nc.Close()
	f, _ := wire.AppendFrame(nil, &wire.Status{NodeID: "hostile", Store: map[string]string{"k": "v"}})
	if _, err := nc.Write(f); err != nil {
		t.Fatal(err)
	}
	closedByPeer(t, nc)
}
