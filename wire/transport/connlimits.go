package transport

import (
	"errors"
	"fmt"
	"time"

	"github.com/txd/txd/wire"
)

// Limits on established connections (after the handshake; admission.go
// bounds the ones still in it). Each accepted connection is either:
//   - a node's: the dialer is one of this node's known peers
//     (ServerConfig.Known: a participant's accepted coordinators and member
//     participants, a coordinator's configured participants). It is never
//     timed out and never refused for the client cap: at most
//     perPeerConns per peer id are kept (a newer one replaces the oldest:
//     a node that redials after a blip gets in even while its stale
//     connection lingers), and at most MaxPeers in all (past that a
//     "node" is served as a client);
//   - a client's: anything else, including a dialer claiming a role or id
//     this node does not know. Clients are counted against MaxClients: one
//     more is refused with an Error (code busy) saying so. A client that
//     sends nothing for IdleTimeout is closed.
//
// With TLS a node's id is proven by its certificate; without TLS it is only
// claimed, so an impostor claiming a known id can take (and kick out) a
// node's slot; but without TLS it can already send that node's messages.
// The client cap holds whatever a stranger claims.
//
// The defaults fit the process's file descriptor limit (RLIMIT_NOFILE):
// handshaking connections + peers + clients + fdReserve never exceed it, so
// a node flooded with idle clients still has a descriptor to accept its
// coordinator with.

// DefaultIdleTimeout is ServerConfig.IdleTimeout's default: a client
// connection that sends no frame for this long is closed. txcli's commands
// and watch (which polls every 200 ms) are far busier.
const DefaultIdleTimeout = 2 * time.Minute

const (
	// perPeerConns is how many connections one known peer id may hold; a
	// node opens one to each other node, and one more while it redials.
	perPeerConns = 2
	// DefaultMaxPeers bounds the known peers' connections in all.
	DefaultMaxPeers = 64
	// fdReserve is what the defaults leave of the descriptor limit for
	// everything but accepted connections: the log and its checkpoint, the
	// listeners, the metrics server, this node's own dialed connections.
	fdReserve = 64
	// maxClientsCeiling caps the default client limit however high the
	// descriptor limit (Go raises the soft limit to the hard one, often a
	// million): an idle client costs ~46 KiB (two goroutines and a read
	// buffer; a participant went from 14.6 to 61.6 MB with 1,024), and
	// what waits to be written to it at most MaxQueueBytes more.
	maxClientsCeiling = 1024
)

// ConnLimits are a server's connection limits.
type ConnLimits struct {
	Handshaking int // connections in their handshake at once (admission.go)
	Peers       int // known peers' connections
	Clients     int // client connections
}

// LimitsFor derives connection limits that fit under a descriptor limit of
// nofile: Handshaking + Peers + Clients + fdReserve <= nofile (for nofile
// of at least 128; below that each gets a small floor and nofile is too
// low to promise anything).
func LimitsFor(nofile uint64) ConnLimits {
	n := int(min(nofile, 1<<20))
	l := ConnLimits{
		Handshaking: min(DefaultMaxHandshaking, max(8, n/8)),
		Peers:       min(DefaultMaxPeers, max(4, n/16)),
	}
	l.Clients = min(maxClientsCeiling, max(8, n-fdReserve-l.Handshaking-l.Peers))
	return l
}

// DefaultLimits are LimitsFor the process's current descriptor limit.
func DefaultLimits() ConnLimits { return LimitsFor(nofileLimit()) }

// connEntry is what the server keeps of an established connection.
type connEntry struct {
	peer bool   // a known peer's (else a client's)
	id   string // the node id it gave
	seq  uint64 // accept order
	// For the idle check: the frame count last seen, and for how many
	// checks in a row it has not moved.
	seen  uint64
	still int
}

// admitEstablished decides whether a dialer that completed its handshake
// may stay, and in which class; if it may, it makes its Conn with mk and
// registers it. victim, if not nil, is an older connection of the same peer
// to close. The slot it takes is given back by release.
func (s *Server) admitEstablished(h *wire.Hello, known bool, seq uint64, mk func(peer bool) *Conn) (c *Conn, e *connEntry, victim *Conn, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if err == nil {
			c = mk(e.peer)
			s.conns[c] = e
		}
	}()
	// still starts at -1: the first check may come at once, and counts as
	// the frame it saw (the handshake) arriving.
	e = &connEntry{peer: known, id: h.NodeID, seq: seq, still: -1}
	if known {
		var oldest *connEntry
		n := 0
		for c, o := range s.conns {
			if o.peer && o.id == h.NodeID {
				n++
				if oldest == nil || o.seq < oldest.seq {
					oldest, victim = o, c
				}
			}
		}
		if n < perPeerConns {
			victim = nil
		}
		if victim != nil || s.npeers < s.cfg.MaxPeers {
			s.npeers++
			return nil, e, victim, nil
		}
		e.peer, victim = false, nil // no room for nodes: served as a client
	}
	if s.cfg.MaxClients > 0 && s.nclients >= s.cfg.MaxClients {
		return nil, nil, nil, fmt.Errorf("%w (%d, the limit of %s %q); try again later",
			errClientCap, s.nclients, s.cfg.Self.Role, s.cfg.Self.NodeID)
	}
	s.nclients++
	return nil, e, nil, nil
}

// errClientCap refuses a client over MaxClients.
var errClientCap = errors.New("too many client connections")

// logCapRefusal says that clients are refused, at most once a second (a
// flood would otherwise write a line per connection).
func (s *Server) logCapRefusal(remote string, err error) {
	s.capLog.warn(s.log, "wire: refusing client connections over the limit (--max-clients)", "limit", s.cfg.MaxClients,
		"remote", remote, "err", err)
}

// release gives back the slot admitEstablished took.
func (s *Server) release(e *connEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.peer {
		s.npeers--
	} else {
		s.nclients--
	}
}

// idleChecks is how many idle checks a timeout spans: a client is closed
// after between IdleTimeout and 5/4 of it without a frame.
const idleChecks = 4

// idleLoop closes client connections that have sent nothing for
// IdleTimeout. It counts frames rather than arming a read deadline per
// frame, which would cost every message on the commit path a timer update.
func (s *Server) idleLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.IdleTimeout / idleChecks)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		var idle []*Conn
		s.mu.Lock()
		for c, e := range s.conns {
			if e.peer || c.closing() {
				continue
			}
			if n := c.received.Load(); n != e.seen {
				e.seen, e.still = n, 0
				continue
			}
			if e.still++; e.still >= idleChecks {
				idle = append(idle, c)
			}
		}
		s.mu.Unlock()
		for _, c := range idle {
			s.log.Info("wire: closing an idle client connection", "remote", c.RemoteAddr(),
				"peer", c.Remote().NodeID, "idle_timeout", s.cfg.IdleTimeout)
			_ = c.Send(&wire.Error{Code: wire.ErrIdle, Msg: fmt.Sprintf("closing a connection idle for %v (the node's --idle-timeout)", s.cfg.IdleTimeout)})
			c.Close()
		}
	}
}
