package transport

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/txd/txd/wire"
)

// Reconnection backoff: quick after a blip, bounded when the peer stays
// away.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// PeerConfig configures a Peer.
type PeerConfig struct {
	Addr string
	Self wire.Hello
	// Handler gets the peer's messages; its HandleClose runs once per
	// connection.
	Handler Handler
	// OnState, if set, is called on the Peer's goroutine after each connect
	// (up) and disconnect (!up), with the identity the peer gave. It must
	// not call Close (Close waits for that goroutine).
	OnState  func(p *Peer, up bool, remote wire.HelloAck)
	Stats    *Stats // optional: counts what this peer's connections send
	Logger   *slog.Logger
	MaxFrame int // 0: DefaultMaxFrame
	// TLS and ExpectID: as in DialOptions.
	TLS      *TLS
	ExpectID string
}

// Peer is a persistent connection to one node: it dials, and redials with
// exponential backoff and jitter whenever the connection is lost, until
// Close.
type Peer struct {
	cfg    PeerConfig
	log    *slog.Logger
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	kick   chan struct{} // Redial: cut the backoff short

	mu       sync.Mutex // protects following
	conn     *Conn      // nil while down
	remote   wire.HelloAck
	lastErr  error     // why the latest dial failed; nil once connected
	failedAt time.Time // when that failed dial began
}

// NewPeer starts connecting at once, in its own goroutine.
func NewPeer(cfg PeerConfig) *Peer {
	log := cfg.Logger
	if log == nil {
		log = discard
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peer{cfg: cfg, log: log, ctx: ctx, cancel: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1)}
	go p.run()
	return p
}

// Send queues m on the current connection; ErrNotConnected when there is
// none. It never blocks.
func (p *Peer) Send(m wire.Message) error {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c == nil {
		return ErrNotConnected
	}
	err := c.Send(m)
	if errors.Is(err, ErrClosed) {
		return ErrNotConnected // lost just now; run is about to redial
	}
	return err
}

// Connected reports whether a connection is up.
func (p *Peer) Connected() bool {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c == nil {
		return false
	}
	select {
	case <-c.Done():
		return false
	default:
		return true
	}
}

// Unreachable says why the peer is known to be down: no connection, and a
// dial begun at or after since failed. nil while connected, while a dial
// is under way or due, or when the latest failure is older than since (the
// node may have come back meanwhile: Redial finds out).
func (p *Peer) Unreachable(since time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil || p.lastErr == nil || p.failedAt.Before(since) {
		return nil
	}
	return p.lastErr
}

// Redial asks for a dial now instead of at the end of the backoff, if the
// peer is down; dials stay at least minBackoff apart. It never blocks.
func (p *Peer) Redial() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Remote is the peer's identity from its last HelloAck (zero before the
// first connection).
func (p *Peer) Remote() wire.HelloAck {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.remote
}

// Addr is the address the Peer dials.
func (p *Peer) Addr() string { return p.cfg.Addr }

// Close stops reconnecting, closes the current connection and waits until
// its HandleClose and the final OnState have run.
func (p *Peer) Close() {
	p.cancel()
	<-p.done
}

func (p *Peer) run() {
	defer close(p.done)
	backoff := minBackoff
	opt := DialOptions{MaxFrame: p.cfg.MaxFrame, TLS: p.cfg.TLS, ExpectID: p.cfg.ExpectID}
	var refused string // the last refusal logged as a warning
	for {
		began := time.Now()
		c, err := dial(p.ctx, p.cfg.Addr, p.cfg.Self, p.cfg.Handler, opt, p.log, p.cfg.Stats)
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			p.lastErr, p.failedAt = err, began
			p.mu.Unlock()
			// A node that is down is routine; one that refuses us (wrong
			// CA, wrong id, another version) is a misconfiguration nobody
			// would find at debug level. Warn once per distinct reason, not
			// at every redial.
			if errors.Is(err, wire.ErrHandshake) && err.Error() != refused {
				refused = err.Error()
				p.log.Warn("wire: peer refused the handshake; retrying", "addr", p.cfg.Addr, "err", err)
			} else {
				p.log.Debug("wire: peer unreachable", "addr", p.cfg.Addr, "err", err, "retry", backoff)
			}
			if !p.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}

		refused = ""
		up := time.Now()
		remote := wire.HelloAck{Version: c.remote.Version, NodeID: c.remote.NodeID, Role: c.remote.Role}
		p.mu.Lock()
		p.conn, p.remote, p.lastErr = c, remote, nil
		p.mu.Unlock()
		p.log.Info("wire: peer connected", "addr", p.cfg.Addr, "peer", remote.NodeID)
		if p.cfg.OnState != nil {
			p.cfg.OnState(p, true, remote)
		}

		select {
		case <-c.finished:
		case <-p.ctx.Done():
			c.Close()
			c.wait()
		}
		p.mu.Lock()
		p.conn = nil
		p.mu.Unlock()
		p.log.Info("wire: peer disconnected", "addr", p.cfg.Addr, "peer", remote.NodeID)
		if p.cfg.OnState != nil {
			p.cfg.OnState(p, false, remote)
		}

		// A peer that accepts and then drops us at once must not be
		// redialled in a tight loop: only a connection that lasted
		// resets the backoff.
		if time.Since(up) >= maxBackoff {
			backoff = minBackoff
		}
		if !p.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// sleep waits about d (jittered to 50-100%, so that peers cut off together
// do not redial in lockstep), or until Redial but at least minBackoff;
// false when Close came first.
func (p *Peer) sleep(d time.Duration) bool {
	start := time.Now()
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.kick:
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
	// Someone needs to know now; still no tight loop against a node that
	// refuses at once.
	if rest := minBackoff - time.Since(start); rest > 0 && rest < d {
		t.Reset(rest)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			return false
		}
	}
	return true
}
