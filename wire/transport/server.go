package transport

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

	"github.com/txd/txd/wire"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	Self wire.HelloAck // our NodeID and Role; a zero Version means this build's
	// Accept, if set, may refuse a peer: it gets an Error{Code:
	// ErrHandshake} frame carrying the error's text, then is closed.
	Accept           func(h *wire.Hello) error
	Handler          Handler
	MaxFrame         int           // 0: DefaultMaxFrame
	HandshakeTimeout time.Duration // 0: 5 s for a new peer to send its Hello
	// MaxHandshaking bounds the connections in their handshake at once; one
	// more evicts the oldest (admission.go). 0: DefaultLimits().Handshaking.
	MaxHandshaking int
	// Known, if set, reports whether a dialer (that Accept let in) is one of
	// this node's peers: its connections are neither counted as clients nor
	// timed out (connlimits.go). nil: every dialer is a client.
	Known func(h *wire.Hello) bool
	// MaxClients bounds client connections; one more is refused with an
	// Error (busy). 0: DefaultLimits().Clients; negative: no limit.
	MaxClients int
	// MaxPeers bounds known peers' connections. 0: DefaultLimits().Peers.
	MaxPeers int
	// IdleTimeout closes a client connection that sends no frame for this
	// long. 0: DefaultIdleTimeout; negative: never.
	IdleTimeout time.Duration
	// MaxQueueBytes bounds what waits to be written to one connection;
	// past it the connection is dropped (a peer that does not read). 0:
	// DefaultMaxQueueBytes.
	MaxQueueBytes int
	FrameTimeout  time.Duration // 0: 10 s to finish a frame once begun, or a write
	// ClientSendBytes bounds what waits to be written to all client
	// connections together; past it the client holding the most is
	// dropped. ClientReadBytes bounds the declared lengths of the large
	// client frames being read at once; one more waits for room. Known
	// peers' connections count against neither (budget.go). 0: the
	// defaults; negative: no node-wide bound.
	ClientSendBytes int64
	ClientReadBytes int64
	Logger          *slog.Logger
	Stats           *Stats // optional: counts what the served connections send
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
	conns       map[*Conn]*connEntry
	nclients    int    // client connections established or being admitted
	npeers      int    // known peers' connections, likewise
	seq         uint64 // connections accepted

	sendBudget *sendBudget // nil: no node-wide bound
	readBudget *readBudget // likewise

	evictLog rateLog // handshakes cut short to make room
	capLog   rateLog // clients refused over MaxClients
}

// NewServer serves ln once Serve is called.
func NewServer(ln net.Listener, cfg ServerConfig) *Server {
	if cfg.Self.Version == 0 {
		cfg.Self.Version = wire.Version
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = wire.DefaultMaxFrame
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = defaultHandshakeTimeout
	}
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = defaultFrameTimeout
	}
	limits := DefaultLimits()
	if cfg.MaxHandshaking <= 0 {
		cfg.MaxHandshaking = limits.Handshaking
	}
	if cfg.MaxClients == 0 {
		cfg.MaxClients = limits.Clients
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = limits.Peers
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
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
		conns:       make(map[*Conn]*connEntry),
	}
	if cfg.TLS != nil {
		s.tls = cfg.TLS.serverConfig()
	}
	if cfg.ClientSendBytes == 0 {
		cfg.ClientSendBytes = DefaultClientSendBytes
	}
	if cfg.ClientReadBytes == 0 {
		cfg.ClientReadBytes = DefaultClientReadBytes
	}
	if cfg.ClientSendBytes > 0 {
		s.sendBudget = &sendBudget{limit: cfg.ClientSendBytes, pick: s.largestClient}
	}
	if cfg.ClientReadBytes > 0 {
		s.readBudget = newReadBudget(cfg.ClientReadBytes)
	}
	s.cfg = cfg
	return s
}

// ClientBytes reports what the clients hold of the node-wide budgets now:
// bytes queued for them, and the declared lengths of their large frames
// being read.
func (s *Server) ClientBytes() (queued, reading int64) {
	if s.sendBudget != nil {
		queued = s.sendBudget.used.Load()
	}
	if s.readBudget != nil {
		reading = s.readBudget.held.Load()
	}
	return queued, reading
}

// Addr is the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close, then returns nil.
func (s *Server) Serve() error {
	s.mu.Lock()
	if !s.closed && s.cfg.IdleTimeout > 0 {
		s.wg.Add(1)
		go s.idleLoop()
	}
	s.mu.Unlock()
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
	c, e, err := s.handshake(nc)
	s.mu.Lock()
	evicted := s.handshaking[nc].evicted
	delete(s.handshaking, nc)
	if c != nil && s.closed {
		c.Close() // Close ran while we were handshaking
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
	s.release(e)
}

// handshake runs the TLS handshake if configured, then reads the peer's
// Hello and answers it. The TLS handshake runs here, on the connection's own
// goroutine under the handshake deadline, not in Accept: a slow or silent
// dialer must not hold up the others.
func (s *Server) handshake(nc net.Conn) (*Conn, *connEntry, error) {
	h, err := s.hello(nc)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	seq := s.handshaking[h.nc].seq
	s.mu.Unlock()
	known := s.cfg.Known != nil && h.Role != wire.RoleClient && s.cfg.Known(&h.Hello)
	// The connection is made, and registered, before the dialer hears our
	// HelloAck: a node that redials at once must find its older connection
	// counted. Nothing is sent on it until its reader runs.
	mk := func(peer bool) *Conn {
		cfg := connConfig{
			handler:    s.cfg.Handler,
			maxFrame:   s.cfg.MaxFrame,
			timeout:    s.cfg.FrameTimeout,
			log:        s.log,
			stats:      s.cfg.Stats,
			maxQueued:  int64(s.cfg.MaxQueueBytes),
			node:       true,
			sendBudget: s.sendBudget,
			readBudget: s.readBudget,
		}
		if peer {
			// The commit path: never dropped or held up by what clients do.
			cfg.maxQueued = max(cfg.maxQueued, peerQueueBytes)
			cfg.sendBudget, cfg.readBudget = nil, nil
		}
		return newConn(h.conn, h.br, h.Hello, cfg)
	}
	c, e, victim, err := s.admitEstablished(&h.Hello, known, seq, mk)
	if err != nil {
		s.refuseCode(h.conn, wire.ErrBusy, err.Error()) //nolint:errcheck // the cap's own error says more
		return nil, nil, err
	}
	if victim != nil {
		s.log.Info("wire: a node connected again; closing its oldest connection", "peer", h.NodeID,
			"role", string(h.Role), "old", victim.RemoteAddr(), "new", h.conn.RemoteAddr().String())
		victim.Close()
	}
	ack := s.cfg.Self
	b, err := wire.AppendFrame(nil, &ack)
	if err == nil {
		_, err = h.conn.Write(b)
	}
	if err != nil {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.release(e)
		c.fail(err, false)
		<-c.wrote
		return nil, nil, err
	}
	h.conn.SetDeadline(time.Time{})
	return c, e, nil
}

// peerQueueBytes is the least send-queue bound of a known peer's
// connection: a burst of PREPAREs to a participant busy with its log may
// queue more than any client's replies should.
const peerQueueBytes = 64 << 20

// helloed is a connection whose dialer has said a Hello this node accepts.
type helloed struct {
	wire.Hello
	nc   net.Conn      // as accepted (the key in s.handshaking)
	conn net.Conn      // nc, or TLS over it
	br   *bufio.Reader // may hold what the dialer sent after its Hello
}

// hello runs the TLS handshake if configured, then reads the dialer's Hello
// and checks it.
func (s *Server) hello(nc net.Conn) (*helloed, error) {
	raw := nc
	nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	if s.tls != nil {
		tc := tls.Server(nc, s.tls)
		if err := tc.Handshake(); err != nil {
			return nil, s.tlsRefusal(err)
		}
		nc = tc
	}
	br := bufio.NewReaderSize(nc, readBufSize)
	if p, err := br.Peek(wire.HeaderLen); err == nil {
		if isHTTP(p) {
			return nil, errors.New("an HTTP request: this port speaks txd's framed TCP protocol (use txcli)")
		}
		if s.tls == nil && isTLSHello(p) {
			return nil, s.refuse(nc, "TLS handshake received, but this node runs without TLS (no --tls-cert)")
		}
	}
	m, err := wire.ReadFrame(br, handshakeMaxFrame)
	if err != nil {
		return nil, err
	}
	h, ok := m.(*wire.Hello)
	if !ok {
		return nil, s.refuse(nc, fmt.Sprintf("expected Hello, got %s", m.Type()))
	}
	if h.Version != s.cfg.Self.Version {
		return nil, s.refuse(nc, fmt.Sprintf("protocol version mismatch: %s %q speaks version %d, %s %q speaks %d",
			s.cfg.Self.Role, s.cfg.Self.NodeID, s.cfg.Self.Version, h.Role, h.NodeID, h.Version))
	}
	if s.tls != nil {
		if err := bindHello(h, peerCert(nc)); err != nil {
			return nil, s.refuse(nc, err.Error())
		}
	}
	if s.cfg.Accept != nil {
		if err := s.cfg.Accept(h); err != nil {
			return nil, s.refuse(nc, err.Error())
		}
	}
	return &helloed{Hello: *h, nc: raw, conn: nc, br: br}, nil
}

// refuse tells the peer why it is refused; the caller closes.
func (s *Server) refuse(nc net.Conn, msg string) error {
	return s.refuseCode(nc, wire.ErrHandshake, msg)
}

// refuseCode is refuse with another code than ErrHandshake.
func (s *Server) refuseCode(nc net.Conn, code wire.ErrorCode, msg string) error {
	if b, err := wire.AppendFrame(nil, &wire.Error{Code: code, Msg: msg}); err == nil {
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
		if isHTTP(rh.RecordHeader[:wire.HeaderLen]) {
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
	if errors.Is(err, errClientCap) {
		s.logCapRefusal(remote, err)
		return
	}
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
