package transport

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// countingConn counts write syscalls (well, Write calls on the net.Conn).
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// pipeConn returns a Conn over an in-memory pipe, whose writes block until
// the other end reads: it makes a slow peer on demand.
func pipeConn(t *testing.T, h Handler) (*Conn, *countingConn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	cc := &countingConn{Conn: a}
	c := newConn(cc, bufio.NewReader(cc), wire.Hello{NodeID: "far"}, connConfig{handler: h})
	go c.readLoop()
	t.Cleanup(func() {
		b.Close()
		c.Close()
		c.wait()
	})
	return c, cc, b
}

// TestWriteCoalescing: frames queued while the writer is busy go out in one
// write, not one each.
func TestWriteCoalescing(t *testing.T) {
	c, cc, far := pipeConn(t, nil)
	const n = 1000
	for i := range n {
		if err := c.Send(&wire.Vote{TxID: "tx", From: "A", Yes: i%2 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	// Only now does the peer read: everything after the first frame has
	// piled up in the queue meanwhile.
	br := bufio.NewReader(far)
	for i := range n {
		far.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, err := wire.ReadFrame(br, 0)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if v := m.(*wire.Vote); v.Yes != (i%2 == 0) {
			t.Fatalf("frame %d out of order", i)
		}
	}
	if w := cc.writes.Load(); w > 10 {
		t.Fatalf("%d frames took %d writes", n, w)
	}
}

// TestQueueFull: a peer that does not read is dropped, not waited for.
func TestQueueFull(t *testing.T) {
	h := &coordinator{closed: make(chan error, 1)}
	c, _, _ := pipeConn(t, h)
	var err error
	for i := 0; i < 2*defaultQueueLen && err == nil; i++ {
		err = c.Send(&wire.Vote{TxID: "tx"})
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("got %v, want ErrQueueFull", err)
	}
	if err := recv(t, h.closed); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("HandleClose(%v), want ErrQueueFull", err)
	}
	if err := c.Send(&wire.Vote{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after the drop: %v", err)
	}
}

func TestSendTooLarge(t *testing.T) {
	c, _, far := pipeConn(t, nil)
	st := &wire.Status{Store: map[string]string{}}
	for i := range 20_000 {
		st.Store[string(rune(i))+"key-padding-padding"] = "value-padding-padding-padding-padding"
	}
	if err := c.Send(st); !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	// The connection is still usable.
	if err := c.Send(&wire.PreCommit{TxID: "tx"}); err != nil {
		t.Fatal(err)
	}
	far.SetReadDeadline(time.Now().Add(10 * time.Second))
	if m, err := wire.ReadFrame(bufio.NewReader(far), 0); err != nil || m.(*wire.PreCommit).TxID != "tx" {
		t.Fatalf("%v %v", m, err)
	}
}

func TestHandleCloseOnce(t *testing.T) {
	h := &coordinator{closed: make(chan error, 4)}
	c, _, far := pipeConn(t, h)
	far.Close() // the peer goes away...
	c.Close()   // ...while we close too
	c.Close()
	c.wait()
	err := recv(t, h.closed)
	if err != nil && !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("HandleClose(%v)", err)
	}
	select {
	case err := <-h.closed:
		t.Fatalf("second HandleClose(%v)", err)
	default:
	}
	if err := c.Send(&wire.Vote{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

// TestMessagesInOrder: the reader hands messages over one at a time, in
// the order they were sent, then HandleClose with the reason.
func TestMessagesInOrder(t *testing.T) {
	h := &coordinator{got: make(chan wire.Message, 100), closed: make(chan error, 1)}
	_, _, far := pipeConn(t, h)
	go func() {
		var b []byte
		for i := range 100 {
			b, _ = wire.AppendFrame(b, &wire.Query{TxID: strconv.Itoa(i)})
		}
		far.Write(b)
		far.Close()
	}()
	for i := range 100 {
		if m := recv(t, h.got).(*wire.Query); m.TxID != strconv.Itoa(i) {
			t.Fatalf("message %d is %q", i, m.TxID)
		}
	}
	if err := recv(t, h.closed); !errors.Is(err, ErrConnectionLost) || !errors.Is(err, io.EOF) {
		t.Fatalf("HandleClose(%v), want ErrConnectionLost wrapping io.EOF", err)
	}
}
