package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/wire"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// coordinator is a fake coordinator's Handler: it answers Start with a
// StartResult echoing the request, and StatusReq with a Status. A Start
// whose TxID is "hold" is never answered; "refuse" gets an Error and the
// connection closed; "bye" closes it with a connection-level Error.
type coordinator struct {
	mu     sync.Mutex // protects following
	msgs   []wire.Message
	closes []error

	got    chan wire.Message // every message, if non-nil
	closed chan error        // every HandleClose, if non-nil
}

func (h *coordinator) HandleMessage(c *Conn, m wire.Message) {
	h.mu.Lock()
	h.msgs = append(h.msgs, m)
	h.mu.Unlock()
	if h.got != nil {
		h.got <- m
	}
	switch m := m.(type) {
	case *wire.Start:
		switch m.TxID {
		case "hold":
		case "bye": // a node shutting down says why, then closes
			c.Send(&wire.Error{Code: wire.ErrShutdown, Msg: "node stopping"})
			c.Close()
		case "refuse":
			c.Send(&wire.Error{ReqID: m.ReqID, Code: wire.ErrShutdown, Msg: "going away"})
			c.Close()
		default:
			c.Send(&wire.StartResult{ReqID: m.ReqID, TxID: m.TxID, Protocol: m.Protocol,
				Outcome: wire.StateCommitted, Reason: fmt.Sprint(len(m.Ops))})
		}
	case *wire.StatusReq:
		c.Send(&wire.Status{ReqID: m.ReqID, NodeID: "coord", Role: wire.RoleCoordinator})
	}
}

func (h *coordinator) HandleClose(c *Conn, err error) {
	h.mu.Lock()
	h.closes = append(h.closes, err)
	h.mu.Unlock()
	if h.closed != nil {
		h.closed <- err
	}
}

// logBuf collects a logger's output for assertions.
type logBuf struct {
	mu sync.Mutex // protects following
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitLog waits until the log holds every one of subs.
func (l *logBuf) waitLog(t *testing.T, subs ...string) {
	t.Helper()
	eventually(t, func() bool {
		s := l.String()
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				return false
			}
		}
		return true
	}, "log to contain %q; it holds:\n%s", subs, l)
}

// serve starts a server on a loopback port; it is closed when the test ends.
func serve(t *testing.T, cfg ServerConfig) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, cfg)
}

func serveOn(t *testing.T, ln net.Listener, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.Self.NodeID == "" {
		cfg.Self = wire.HelloAck{NodeID: "coord", Role: wire.RoleCoordinator}
	}
	s := NewServer(ln, cfg)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// eventually polls cond until it holds, failing the test after 10 s.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recv waits for a value on ch, failing the test after 10 s.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting on a channel")
	}
	panic("unreachable")
}

// closedByPeer reads nc until the peer closes it, failing after 10 s.
func closedByPeer(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server did not close the connection")
		}
		return // EOF or reset: closed
	}
}

// frame builds a frame by hand: length, type byte, payload.
func frame(t wire.Type, payload ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)))
	b = append(b, byte(t))
	return append(b, payload...)
}
