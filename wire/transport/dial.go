package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/txd/txd/wire"
)

// Dial connects to addr ("host:port", "http://host:port" or ":port"),
// introduces itself with self (a zero Version means this build's Version)
// and waits for the peer's HelloAck, within ctx and at most 5 s. A peer that
// refuses answers with an Error frame: Dial returns it as a *RemoteError,
// which matches ErrHandshake with errors.Is. h receives the connection's
// messages; maxFrame <= 0 means DefaultMaxFrame.
func Dial(ctx context.Context, addr string, self wire.Hello, h Handler, maxFrame int) (*Conn, error) {
	return DialWith(ctx, addr, self, h, DialOptions{MaxFrame: maxFrame})
}

// DialOptions are Dial's optional settings.
type DialOptions struct {
	MaxFrame int // 0: DefaultMaxFrame
	// TLS, if set, runs mutual TLS: the node must present a certificate the
	// CA signed, for the id it claims in its HelloAck. self.NodeID should be
	// TLS.Name(), or the node refuses us.
	TLS *TLS
	// ExpectID, with TLS, is the node id the certificate must be for (e.g.
	// from --participants B=host:port); "" accepts any member of the CA.
	ExpectID string
}

// DialWith is Dial with options.
func DialWith(ctx context.Context, addr string, self wire.Hello, h Handler, opt DialOptions) (*Conn, error) {
	return dial(ctx, addr, self, h, opt, nil, nil)
}

func dial(ctx context.Context, addr string, self wire.Hello, h Handler, opt DialOptions, log *slog.Logger, stats *Stats) (*Conn, error) {
	maxFrame := opt.MaxFrame
	a, err := wire.NormalizeAddr(addr)
	if err != nil {
		return nil, err
	}
	if self.Version == 0 {
		self.Version = wire.Version
	}
	d := net.Dialer{Timeout: defaultHandshakeTimeout}
	nc, err := d.DialContext(ctx, "tcp", a)
	if err != nil {
		return nil, fmt.Errorf("wire: dial %s: %w", a, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true) // Go's default, but latency is the point here
	}

	deadline := time.Now().Add(defaultHandshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	nc.SetDeadline(deadline)
	// Cancelling ctx must interrupt a handshake blocked in a read.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	conn, br, ack, err := handshakeOut(nc, self, opt)
	if !stop() && err == nil {
		err = ctx.Err() // cancelled just now: the deadline is poisoned
	}
	if err != nil {
		nc.Close()
		if cerr := ctxErr(ctx); cerr != nil {
			err = cerr
		}
		return nil, fmt.Errorf("wire: handshake with %s: %w", a, err)
	}
	nc.SetDeadline(time.Time{})

	remote := wire.Hello{Version: ack.Version, NodeID: ack.NodeID, Role: ack.Role}
	// What we dial is a node we chose to talk to: its queue gets a peer's
	// bound, as a burst of PREPAREs may need (the server's client bound is
	// for strangers).
	c := newConn(conn, br, remote, connConfig{handler: h, maxFrame: maxFrame, log: log, stats: stats, maxQueued: peerQueueBytes, node: self.Role != wire.RoleClient})
	go c.readLoop()
	return c, nil
}

// ctxErr is ctx.Err(), or DeadlineExceeded as soon as the deadline has
// passed: a read that timed out at ctx's deadline may return before ctx's
// own timer has fired.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// handshakeOut runs the dialer's side of the handshake on nc, within the
// deadline already set on it: TLS first if configured, then Hello/HelloAck.
// It returns the connection to use from now on (nc, or TLS over it) and its
// reader, which may hold what the node sent after its HelloAck.
func handshakeOut(nc net.Conn, self wire.Hello, opt DialOptions) (net.Conn, *bufio.Reader, *wire.HelloAck, error) {
	conn := nc
	if opt.TLS != nil {
		tc := tls.Client(nc, opt.TLS.clientConfig(opt.ExpectID))
		if err := tc.Handshake(); err != nil {
			return nil, nil, nil, tlsFailure(err)
		}
		conn = tc
	}
	br := bufio.NewReaderSize(conn, readBufSize)
	ack, err := sendHello(conn, br, self, opt.MaxFrame)
	if err != nil {
		if opt.TLS != nil {
			err = tlsFailure(err)
		}
		return nil, nil, nil, err
	}
	if opt.TLS != nil {
		// The certificate proves who the node is; its HelloAck only says
		// it. A node that says otherwise is refused, so that no member of
		// the CA can pose as another.
		cert := peerCert(conn)
		if ack.NodeID != cert.Subject.CommonName {
			return nil, nil, nil, handshakeErrorf("TLS: %s %q presented a certificate for %q", ack.Role, ack.NodeID, cert.Subject.CommonName)
		}
		if err := nodeCert(ack.Role, cert); err != nil {
			return nil, nil, nil, handshakeErrorf("%v", err)
		}
	}
	return conn, br, ack, nil
}

// sendHello runs the dialer's side of the handshake.
func sendHello(nc net.Conn, br *bufio.Reader, self wire.Hello, maxFrame int) (*wire.HelloAck, error) {
	b, err := wire.AppendFrame(nil, &self)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write(b); err != nil {
		return nil, err
	}
	m, err := wire.ReadFrame(br, maxFrame)
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *wire.HelloAck:
		if m.Version != self.Version {
			return nil, handshakeErrorf("protocol version mismatch: %s %q speaks version %d, we speak %d",
				m.Role, m.NodeID, m.Version, self.Version)
		}
		return m, nil
	case *wire.Error:
		return nil, &wire.RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, handshakeErrorf("expected HelloAck, got %s", m.Type())
}

// handshakeError is a handshake failure detected on this side; it matches
// ErrHandshake.
type handshakeError struct{ msg string }

func handshakeErrorf(format string, args ...any) error {
	return &handshakeError{fmt.Sprintf(format, args...)}
}

func (e *handshakeError) Error() string { return e.msg }
func (e *handshakeError) Unwrap() error { return wire.ErrHandshake }
