package wire

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	Self HelloAck // our NodeID and Role; a zero Version means this build's
	// Accept, if set, may refuse a peer: it gets an Error{Code:
	// ErrHandshake} frame carrying the error's text, then is closed.
	Accept           func(h *Hello) error
	Handler          Handler
	MaxFrame         int           // 0: DefaultMaxFrame
	HandshakeTimeout time.Duration // 0: 5 s for a new peer to send its Hello
	// MaxHandshaking bounds the connections in their handshake at once; one
	// more evicts the oldest (admission.go). 0: DefaultMaxHandshaking.
	MaxHandshaking int
	FrameTimeout   time.Duration // 0: 10 s to finish a frame once begun, or a write
	Logger         *slog.Logger
	Stats          *Stats // optional: counts what the served connections send
	// TLS, if set, makes every connection mutual TLS: a dialer must present
	// a certificate the CA signed, and a node's must be for the id it
	// claims in its Hello (a client's Hello takes its certificate's name).
	// Self.NodeID should be TLS.Name(), or dialers refuse us.
	TLS *TLS
}

// Server accepts connections, handshakes and serves each until it ends. A
// misbehaving connection is logged and closed; the others are unaffected.
type Server struct {
	ln   net.Listener
	cfg  ServerConfig
	tls  *tls.Config // nil: plain TCP
	log  *slog.Logger
	quit chan struct{} // closed by Close
	wg   sync.WaitGroup

	mu          sync.Mutex // protects following
	closed      bool
	handshaking map[net.Conn]*pending
	conns       map[*Conn]struct{}
	seq         uint64    // connections accepted
	evictions   int       // handshakes cut short to make room, since evictLogged
	evictLogged time.Time // when evictions were last logged
}

// NewServer serves ln once Serve is called.
func NewServer(ln net.Listener, cfg ServerConfig) *Server {
	if cfg.Self.Version == 0 {
		cfg.Self.Version = Version
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = DefaultMaxFrame
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = defaultHandshakeTimeout
	}
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = defaultFrameTimeout
	}
	if cfg.MaxHandshaking <= 0 {
		cfg.MaxHandshaking = DefaultMaxHandshaking
	}
	log := cfg.Logger
	if log == nil {
		log = discard
	}
	s := &Server{
		ln:          ln,
		cfg:         cfg,
		log:         log,
		quit:        make(chan struct{}),
		handshaking: make(map[net.Conn]*pending),
		conns:       make(map[*Conn]struct{}),
	}
	if cfg.TLS != nil {
		s.tls = cfg.TLS.serverConfig()
	}
	return s
}

// Addr is the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close, then returns nil.
func (s *Server) Serve() error {
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.quit:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait, as net/http
			// does, rather than spin or give up.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("wire: accept failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.quit:
				return nil
			}
			continue
		}
		backoff = 0

		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		victim := s.admit(nc)
		s.wg.Add(1)
		s.mu.Unlock()
		if victim != nil {
			s.evict(victim)
		}
		go s.serveConn(nc)
	}
}

// Close stops accepting, closes every connection and waits for their
// goroutines (HandleClose has run for each when it returns).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.quit)
	err := s.ln.Close()
	for nc := range s.handshaking {
		nc.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// serveConn handshakes nc, then becomes its reader goroutine.
func (s *Server) serveConn(nc net.Conn) {
	defer s.wg.Done()
	c, err := s.handshake(nc)
	s.mu.Lock()
	evicted := s.handshaking[nc].evicted
	delete(s.handshaking, nc)
	if c != nil {
		if s.closed {
			c.Close() // Close ran while we were handshaking
		}
		s.conns[c] = struct{}{}
	}
	s.mu.Unlock()
	if err != nil {
		if !evicted { // evict has said so
			s.logRefusal(nc, err)
		}
		nc.Close()
	}
	if c == nil {
		return
	}
	c.readLoop()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// handshake runs the TLS handshake if configured, then reads the peer's
// Hello and answers it. The TLS handshake runs here, on the connection's own
// goroutine under the handshake deadline, not in Accept: a slow or silent
// dialer must not hold up the others.
func (s *Server) handshake(nc net.Conn) (*Conn, error) {
	nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	if s.tls != nil {
		tc := tls.Server(nc, s.tls)
		if err := tc.Handshake(); err != nil {
			return nil, s.tlsRefusal(err)
		}
		nc = tc
	}
	br := bufio.NewReaderSize(nc, readBufSize)
	if p, err := br.Peek(headerLen); err == nil {
		if isHTTP(p) {
			return nil, errors.New("an HTTP request: this port speaks txd's framed TCP protocol (use txcli)")
		}
		if s.tls == nil && isTLSHello(p) {
			return nil, s.refuse(nc, "TLS handshake received, but this node runs without TLS (no --tls-cert)")
		}
	}
	m, err := ReadFrame(br, handshakeMaxFrame)
	if err != nil {
		return nil, err
	}
	h, ok := m.(*Hello)
	if !ok {
		return nil, s.refuse(nc, fmt.Sprintf("expected Hello, got %s", m.Type()))
	}
	if h.Version != s.cfg.Self.Version {
		return nil, s.refuse(nc, fmt.Sprintf("protocol version mismatch: %s %q speaks version %d, %s %q speaks %d",
			s.cfg.Self.Role, s.cfg.Self.NodeID, s.cfg.Self.Version, h.Role, h.NodeID, h.Version))
	}
	if s.tls != nil {
		if err := bindHello(h, peerName(nc)); err != nil {
			return nil, s.refuse(nc, err.Error())
		}
	}
	if s.cfg.Accept != nil {
		if err := s.cfg.Accept(h); err != nil {
			return nil, s.refuse(nc, err.Error())
		}
	}
	ack := s.cfg.Self
	b, err := AppendFrame(nil, &ack)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write(b); err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return newConn(nc, br, *h, connConfig{
		handler:  s.cfg.Handler,
		maxFrame: s.cfg.MaxFrame,
		timeout:  s.cfg.FrameTimeout,
		log:      s.log,
		stats:    s.cfg.Stats,
		node:     true,
	}), nil
}

// refuse tells the peer why it is refused; the caller closes.
func (s *Server) refuse(nc net.Conn, msg string) error {
	if b, err := AppendFrame(nil, &Error{Code: ErrHandshake, Msg: msg}); err == nil {
		nc.Write(b) //nolint:errcheck // best effort: closing anyway
	}
	return handshakeErrorf("refused: %s", msg)
}

// tlsRefusal explains a failed TLS handshake. crypto/tls has already sent
// the dialer an alert (no certificate, unknown CA), except to one that does
// not speak TLS at all: that one is told in a plain Error frame, which it
// can read.
func (s *Server) tlsRefusal(err error) error {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && rh.Conn != nil {
		if isHTTP(rh.RecordHeader[:headerLen]) {
			return errors.New("an HTTP request: this port speaks txd's framed TCP protocol over TLS (use txcli)")
		}
		return s.refuse(rh.Conn, "this node requires TLS: give --tls-cert, --tls-key and --tls-ca")
	}
	return fmt.Errorf("TLS handshake: %w", err)
}

func (s *Server) logRefusal(nc net.Conn, err error) {
	select {
	case <-s.quit:
		return // Close cut the handshake short
	default:
	}
	remote := nc.RemoteAddr().String()
	if errors.Is(err, io.EOF) {
		// Connected and left without a word: a port probe, not an attack.
		s.log.Debug("wire: connection closed before handshake", "remote", remote)
		return
	}
	s.log.Warn("wire: closing connection in handshake", "remote", remote, "err", err)
}

// isHTTP reports whether a frame header is in fact the start of an HTTP
// request, to log a useful reason instead of "frame too large".
func isHTTP(p []byte) bool {
	switch string(p) {
	case "GET ", "HEAD", "POST", "PUT ", "DELE", "OPTI", "PATC", "CONN", "TRAC", "PRI ":
		return true
	}
	return false
}
