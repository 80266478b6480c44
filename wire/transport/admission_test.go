package transport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// closedWithin reads nc until the peer closes it, failing if that takes
// longer than d: for closes that must come from a check, not a deadline
// (the tests set the deadlines far beyond d).
func closedWithin(t *testing.T, nc net.Conn, d time.Duration) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server did not close the connection within %v", d)
	}
}

func rawDial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// TestHalfFrameCostsWhatArrives: a header promising a megabyte followed by a
// hundred bytes must cost about what arrived, not what was promised (500
// such connections would otherwise pin 500 MiB until their frame deadline).
func TestHalfFrameCostsWhatArrives(t *testing.T) {
	in := binary.BigEndian.AppendUint32(nil, wire.DefaultMaxFrame)
	in = append(in, byte(wire.TypeStatus))
	in = append(in, bytes.Repeat([]byte{0x90}, 100)...)
	r := bufio.NewReader(bytes.NewReader(in))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := wire.ReadFrame(r, 0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, wire.ErrMalformed) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want a truncated frame", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("%d bytes allocated for a frame of which 101 bytes arrived", n)
	}
}

// TestReadBodyInChunks: a frame larger than the reader's buffer, delivered
// in pieces, still arrives whole and decodes.
func TestReadBodyInChunks(t *testing.T) {
	want := &wire.Status{ReqID: 9, NodeID: "n", Store: map[string]string{}}
	for i := range 3000 {
		want.Store[string(rune('a'+i%26))+string(bytes.Repeat([]byte{'x'}, i%50))+string(rune(i))] = "value"
	}
	b, err := wire.AppendFrame(nil, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 64<<10 {
		t.Fatalf("frame of %d bytes: too small to test chunking", len(b))
	}
	pr, pw := io.Pipe()
	go func() {
		for p := b; len(p) > 0; {
			n := min(len(p), 1000)
			pw.Write(p[:n]) //nolint:errcheck // the reader checks
			p = p[n:]
		}
		pw.Close()
	}()
	m, err := wire.ReadFrame(bufio.NewReaderSize(pr, 4096), 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := m.(*wire.Status); !ok || len(st.Store) != len(want.Store) || st.ReqID != 9 {
		t.Fatalf("got %T with %d keys", m, len(m.(*wire.Status).Store))
	}
}

// TestHelloFrameLimit: a first frame larger than any Hello is refused at
// once, not after the handshake deadline.
func TestHelloFrameLimit(t *testing.T) {
	var log logBuf
	s := serve(t, ServerConfig{Handler: &coordinator{}, Logger: log.logger(), HandshakeTimeout: time.Minute})
	nc := rawDial(t, s)
	// 64 KiB: under the frame limit, far over a Hello.
	nc.Write(append(binary.BigEndian.AppendUint32(nil, 64<<10), byte(wire.TypeHello))) //nolint:errcheck
	closedWithin(t, nc, 5*time.Second)
	log.waitLog(t, "frame too large", "65536 bytes, at most 4096")
	if _, err := dialClient(t, s).Status(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestHandshakeEvictsOldest: beyond MaxHandshaking connections in their
// handshake, a new one evicts the oldest; a real client still gets in
// while silent connections fill every slot.
func TestHandshakeEvictsOldest(t *testing.T) {
	var log logBuf
	s := serve(t, ServerConfig{Handler: &coordinator{}, Logger: log.logger(), HandshakeTimeout: time.Minute, MaxHandshaking: 3})
	var silent []net.Conn
	for range 3 {
		silent = append(silent, rawDial(t, s))
	}
	// The server has registered all three before the fourth arrives.
	eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.handshaking) == 3
	}, "3 connections in handshake")
	fourth := rawDial(t, s)
	closedWithin(t, silent[0], 5*time.Second)
	log.waitLog(t, "too many connections in handshake", "limit=3")

	// A client dials while three silent connections hold every slot.
	cl := dialClient(t, s)
	if _, err := cl.Status(ctxT(t)); err != nil {
		t.Fatalf("a client behind a full handshake table: %v", err)
	}
	closedWithin(t, silent[1], 5*time.Second)
	// The newest silent ones are still waiting: eviction takes the oldest.
	for _, nc := range []net.Conn{silent[2], fourth} {
		nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := nc.Read(make([]byte, 1)); !isTimeout(err) {
			t.Fatalf("a newer connection was closed: %v", err)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestGarbageAfterHandshake: an established connection that sends
// something the protocol does not allow loses its connection, with the
// reason logged; another client on the same server carries on.
func TestGarbageAfterHandshake(t *testing.T) {
	var log logBuf
	s := serve(t, ServerConfig{Handler: &coordinator{}, Logger: log.logger()})
	cl := dialClient(t, s)
	cases := []struct {
		name, logs string
		bytes      []byte
	}{
		{"unknown type", "unknown message type: 77", frame(77, 0xc0)},
		{"type 0", "unknown message type: 0", frame(0, 0xc0)},
		{"oversize", "frame too large", binary.BigEndian.AppendUint32(nil, wire.DefaultMaxFrame+1)},
		{"HTTP", "frame too large", []byte("GET / HTTP/1.1\r\n\r\n")},
		{"undecodable", "malformed", frame(wire.TypeStart, 0xc1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, _ := rawHello(t, s.Addr().String())
			defer nc.Close()
			nc.Write(tc.bytes) //nolint:errcheck
			closedWithin(t, nc, 5*time.Second)
			log.waitLog(t, "dropping connection", tc.logs)
			if _, err := cl.Status(ctxT(t)); err != nil {
				t.Fatalf("the other client after %s: %v", tc.name, err)
			}
		})
	}
}
