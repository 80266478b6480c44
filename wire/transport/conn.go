package transport

import (
	"bufio"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/txd/txd/wire"
)

// Handler receives a connection's messages.
type Handler interface {
	// HandleMessage runs on the connection's reader goroutine, one message
	// at a time in arrival order. It must not block: it holds up every
	// later message of the connection.
	HandleMessage(c *Conn, m wire.Message)
	// HandleClose is called exactly once, after the last HandleMessage,
	// when the connection ends. err is nil after a local Close.
	HandleClose(c *Conn, err error)
}

const (
	defaultQueueLen = 4096
	// DefaultMaxQueueBytes bounds, by default, the bytes waiting in one
	// connection's send queue (frames the peer has not taken off the
	// socket): a peer that asks and does not read (a slow reader) is
	// dropped once its replies pass it, rather than hold the node's memory.
	// A single frame (at most a frame's limit) always fits.
	DefaultMaxQueueBytes    = 2 << 20
	defaultFrameTimeout     = 10 * time.Second
	defaultHandshakeTimeout = 5 * time.Second
	// closeFlushTimeout bounds how long a local Close keeps trying to
	// deliver what was sent before it to a peer that does not read.
	closeFlushTimeout = time.Second
	readBufSize       = 32 << 10
	writeBufSize      = 32 << 10
	pooledFrameMax    = 64 << 10
)

// frames recycles encoded frames between Send and the writer.
var frames = sync.Pool{New: func() any { return new([]byte) }}

// connConfig is what a Conn needs from its Server or dialer.
type connConfig struct {
	handler  Handler
	maxFrame int
	timeout  time.Duration // to finish a frame once begun, and to write
	log      *slog.Logger
	stats    *Stats // nil: not counted
	// maxQueued bounds the bytes waiting in the send queue (0:
	// DefaultMaxQueueBytes); past it the connection is dropped.
	maxQueued int64
	// node: this end is a node, which refuses the answers only a client
	// reads (forClient) before decoding them.
	node bool
	// sendBudget and readBudget, if set, are the node-wide budgets this
	// (client) connection shares with the others (budget.go).
	sendBudget *sendBudget
	readBudget *readBudget
}

// Conn is an established (handshaken) connection. One reader goroutine
// delivers its messages to a Handler in order; one writer goroutine drains a
// bounded queue of encoded frames into a buffered writer, flushed only when
// the queue runs dry, so that a burst of frames costs one syscall.
type Conn struct {
	nc         net.Conn
	br         *bufio.Reader
	remote     wire.Hello
	remoteAddr string
	peerCert   *x509.Certificate // what the peer proved itself with; nil without TLS
	connConfig

	queue    chan *[]byte  // encoded frames for the writer
	done     chan struct{} // closed when the connection is closed
	wrote    chan struct{} // closed when the writer has returned
	finished chan struct{} // closed when HandleClose has returned

	once     sync.Once
	err      error // why the connection ended: written once, before done closes
	graceful bool  // a local Close: the writer flushes the queue first

	// wmu is held by whoever writes to the socket: the writer goroutine
	// for a batch, or a sender on the direct path (directwrite.go).
	wmu sync.Mutex
	// pending counts frames queued (or left in direct.head) and not yet
	// written; the direct path is open only when it is zero.
	pending atomic.Int64
	// queued counts the bytes of those frames: what the peer has not yet
	// taken off the socket (a frame the direct path could only start
	// counts whole: it is held whole), bounded by maxQueued.
	queued atomic.Int64
	direct directWriter
	// received counts the frames read (the server's idle check).
	received atomic.Uint64
}

// newConn wraps a handshaken connection and starts its writer. The caller
// runs readLoop, on a goroutine of its own or one it already has.
func newConn(nc net.Conn, br *bufio.Reader, remote wire.Hello, cfg connConfig) *Conn {
	if cfg.handler == nil {
		cfg.handler = nopHandler{}
	}
	if cfg.maxFrame <= 0 {
		cfg.maxFrame = wire.DefaultMaxFrame
	}
	if cfg.timeout <= 0 {
		cfg.timeout = defaultFrameTimeout
	}
	if cfg.log == nil {
		cfg.log = discard
	}
	if cfg.maxQueued <= 0 {
		cfg.maxQueued = DefaultMaxQueueBytes
	}
	c := &Conn{
		nc:         nc,
		br:         br,
		remote:     remote,
		remoteAddr: nc.RemoteAddr().String(),
		peerCert:   peerCert(nc),
		connConfig: cfg,
		queue:      make(chan *[]byte, defaultQueueLen),
		done:       make(chan struct{}),
		wrote:      make(chan struct{}),
		finished:   make(chan struct{}),
	}
	c.direct.init(nc)
	go c.writeLoop()
	return c
}

// Send encodes m on the caller's goroutine and queues it. It never blocks:
// when the queue is full the peer is not keeping up, and it is dropped
// (the connection closes) rather than let it stall its sender.
func (c *Conn) Send(m wire.Message) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	bp := frames.Get().(*[]byte)
	b, err := wire.AppendFrame((*bp)[:0], m)
	if err != nil {
		frames.Put(bp)
		return err
	}
	if n := len(b) - wire.HeaderLen; n > c.maxFrame {
		frames.Put(bp)
		return fmt.Errorf("%w: %s of %d bytes, at most %d", wire.ErrFrameTooLarge, m.Type(), n, c.maxFrame)
	}
	*bp = b
	if ok, err := c.trySendDirect(bp); ok {
		if err == nil {
			c.sent(m)
		}
		return err
	}
	n := int64(len(b))
	q, ok := c.addQueued(n)
	if !ok {
		c.subQueued(n)
		frames.Put(bp)
		return ErrClosed
	}
	if q > c.maxQueued && q > n {
		c.subQueued(n)
		frames.Put(bp)
		return c.dropSlow(fmt.Errorf("%w: %d bytes not yet read by the peer, limit %d", ErrQueueFull, q-n, c.maxQueued))
	}
	if err := c.chargeSend(n); err != nil {
		c.subQueued(n)
		frames.Put(bp)
		return err
	}
	c.pending.Add(1)
	select {
	case c.queue <- bp:
		c.sent(m)
		return nil
	default:
		c.pending.Add(-1)
		c.subQueued(n)
		return c.dropSlow(ErrQueueFull)
	}
}

// dropSlow closes a connection whose peer does not take what is sent to it
// (its queue is full in frames or bytes) and says so.
func (c *Conn) dropSlow(err error) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	c.log.Warn("wire: peer does not read what is sent to it; dropping the connection",
		"remote", c.remoteAddr, "peer", c.remote.NodeID, "role", string(c.remote.Role), "err", err)
	c.fail(err, false)
	return err
}

// closing reports whether c is closed or closing.
func (c *Conn) closing() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Queued is how many bytes sent on c wait for the peer to take them (not
// yet written to the socket).
func (c *Conn) Queued() int64 { return max(c.queued.Load(), 0) }

// sent counts and logs a message handed to the socket or the writer.
func (c *Conn) sent(m wire.Message) {
	if s := c.stats; s != nil && s.Msgs != nil {
		s.Msgs.countSent(m.Type())
	}
	c.logMessage("sent", m)
}

// Remote is the peer's identity as it gave it in the handshake.
func (c *Conn) Remote() wire.Hello { return c.remote }

// PeerCertificate is the certificate the peer presented in the TLS
// handshake (its role, internal/certs.RoleOf, says what a client may do);
// nil without TLS.
func (c *Conn) PeerCertificate() *x509.Certificate { return c.peerCert }

// RemoteAddr is the peer's network address.
func (c *Conn) RemoteAddr() string { return c.remoteAddr }

// Done is closed when the connection is closed; Send fails from then on.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the connection. Frames already sent are still flushed
// (for at most a second), so that e.g. an Error followed by Close reaches
// the peer. It does not wait for the reader goroutine, since a Handler may
// call it from there.
func (c *Conn) Close() error {
	c.fail(nil, true)
	return nil
}

// wait blocks until HandleClose has returned. Not to be called from the
// Handler.
func (c *Conn) wait() { <-c.finished }

// fail closes the connection for reason err; the first call wins.
func (c *Conn) fail(err error, graceful bool) {
	c.once.Do(func() {
		c.err = err
		c.graceful = graceful
		close(c.done)
		if graceful {
			// The writer closes the socket once the queue is flushed.
			c.nc.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		} else {
			c.nc.Close()
		}
	})
}

func (c *Conn) readLoop() {
	var err error
	for {
		var m wire.Message
		if m, err = c.readFrame(); err != nil {
			break
		}
		c.received.Add(1)
		if s := c.stats; s != nil && s.Msgs != nil {
			s.Msgs.countReceived(m.Type())
		}
		c.logMessage("received", m)
		c.handler.HandleMessage(c, m)
	}
	select {
	case <-c.done: // closed here, or by the writer: that reason stands
	default:
		c.logEnd(err)
		c.fail(lost(err), false)
	}
	<-c.wrote
	c.handler.HandleClose(c, c.err)
	close(c.finished)
}

// readFrame waits for a frame as long as it takes (an idle peer is fine;
// TCP keepalive finds dead ones), but once the frame has begun the rest must
// come within c.timeout: a peer that sends half a frame and goes silent
// would otherwise hold the connection forever.
func (c *Conn) readFrame() (wire.Message, error) {
	if _, err := c.br.Peek(1); err != nil {
		return nil, err
	}
	armed := !c.frameBuffered()
	var deadline time.Time
	if armed {
		deadline = time.Now().Add(c.timeout)
		c.nc.SetReadDeadline(deadline)
	}
	granted, err := c.frameBudget(deadline)
	var m wire.Message
	if err == nil {
		m, err = wire.ReadFrameFor(c.br, c.maxFrame, c.node)
	}
	if granted > 0 {
		c.readBudget.release(granted)
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("wire: frame not completed within %v: %w", c.timeout, err)
		}
		return nil, err
	}
	if armed {
		c.nc.SetReadDeadline(time.Time{})
	}
	return m, nil
}

// frameBudget takes from the node's read budget what the coming frame
// declares, when it is too large for the read buffer (the smaller ones are
// decoded in place); a frame already buffered whole was paid for by the
// buffer. It returns what to give back once the frame is decoded.
func (c *Conn) frameBudget(deadline time.Time) (int64, error) {
	if c.readBudget == nil || deadline.IsZero() {
		return 0, nil
	}
	hdr, err := c.br.Peek(wire.HeaderLen)
	if err != nil {
		return 0, nil // readFrame meets the same end and says it: cut short, or timed out
	}
	n := int64(binary.BigEndian.Uint32(hdr))
	if n <= int64(c.br.Size()) || n > int64(c.maxFrame) {
		return 0, nil // in place, or refused unread by readFrame
	}
	return c.readBudget.acquire(n, deadline, c.done)
}

// frameBuffered reports whether a whole frame is already buffered, which
// spares setting and clearing a deadline for it.
func (c *Conn) frameBuffered() bool {
	n := c.br.Buffered()
	if n < wire.HeaderLen {
		return false
	}
	hdr, _ := c.br.Peek(wire.HeaderLen)
	return uint64(n-wire.HeaderLen) >= uint64(binary.BigEndian.Uint32(hdr))
}

func (c *Conn) writeLoop() {
	defer close(c.wrote)
	defer c.settle()
	defer c.nc.Close()
	bw := bufio.NewWriterSize(deadlineWriter{c}, writeBufSize)
	for {
		select {
		case bp := <-c.queue:
			if err := c.writeBatch(bw, bp); err != nil {
				c.fail(fmt.Errorf("%w: write: %w", ErrConnectionLost, err), false)
				return
			}
		case <-c.done:
			if c.graceful {
				c.flushQueue(bw)
			}
			return
		}
	}
}

// writeBatch writes bp and whatever else is queued, then flushes once. A
// nil bp is the direct path's wake-up: its frame is in c.direct.head.
func (c *Conn) writeBatch(bw *bufio.Writer, bp *[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	nFrames, nBytes, taken := int64(0), int64(0), int64(0)
	defer func() {
		c.subQueued(nBytes)
		c.pending.Add(-taken)
		if s := c.stats; s != nil {
			s.FramesOut.Add(nFrames)
			s.BytesOut.Add(nBytes)
			s.Flushes.Add(1)
		}
	}()
	if err := c.writeHead(bw); err != nil {
		return err
	}
	for {
		taken++
		if bp != nil {
			nFrames++
			nBytes += int64(len(*bp))
			_, err := bw.Write(*bp)
			if cap(*bp) <= pooledFrameMax {
				frames.Put(bp)
			}
			if err != nil {
				return err
			}
		}
		select {
		case bp = <-c.queue:
			continue
		default:
		}
		return bw.Flush()
	}
}

// flushQueue delivers, on a local Close, what was sent before it.
func (c *Conn) flushQueue(bw *bufio.Writer) {
	select {
	case bp := <-c.queue:
		c.writeBatch(bw, bp) //nolint:errcheck // closing anyway
	default:
		c.wmu.Lock()
		c.writeHead(bw) //nolint:errcheck // closing anyway
		bw.Flush()      //nolint:errcheck // closing anyway
		c.wmu.Unlock()
	}
}

// deadlineWriter gives every write syscall its own deadline: a peer that
// stops reading cannot hold the writer forever, while a long busy stream
// that keeps making progress is never cut.
type deadlineWriter struct{ c *Conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	d := w.c.timeout
	select {
	case <-w.c.done:
		d = closeFlushTimeout
	default:
	}
	w.c.nc.SetWriteDeadline(time.Now().Add(d))
	n, err := w.c.nc.Write(p)
	// Leave no deadline behind: the direct path (directwrite.go) writes
	// without one, and a stale one would make the poller refuse its write
	// once it passed (that closed a client's connection after 10 s of
	// direct-only writes).
	w.c.nc.SetWriteDeadline(time.Time{})
	return n, err
}

// logEnd logs why the peer's side ended the connection: a protocol
// violation or stall as a warning, a plain disconnect as debug.
func (c *Conn) logEnd(err error) {
	attrs := []any{"remote", c.remoteAddr, "peer", c.remote.NodeID, "err", err}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
		c.log.Debug("wire: connection closed by peer", attrs...)
		return
	}
	c.log.Warn("wire: dropping connection", attrs...)
}

// lost wraps an error that ended the connection: anything but a protocol
// violation means the connection was lost.
func lost(err error) error {
	if errors.Is(err, wire.ErrMalformed) || errors.Is(err, wire.ErrFrameTooLarge) || errors.Is(err, wire.ErrUnknownType) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

type nopHandler struct{}

func (nopHandler) HandleMessage(*Conn, wire.Message) {}
func (nopHandler) HandleClose(*Conn, error)          {}

var discard = slog.New(slog.DiscardHandler)
