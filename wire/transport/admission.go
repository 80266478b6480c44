package transport

import (
	"net"
)

// Limits on connections that have not finished their handshake. Anyone who
// can reach the port can open one, so what each may cost, and how many there
// may be, is bounded before the peer has said who it is:
//   - it must complete the handshake (TLS, then its Hello) within
//     ServerConfig.HandshakeTimeout (5 s), or it is closed;
//   - its Hello frame may be at most handshakeMaxFrame bytes (a Hello is
//     under 200), so a header promising a megabyte is refused at once;
//   - at most ServerConfig.MaxHandshaking (DefaultMaxHandshaking) are in
//     the handshake at a time. One more evicts the oldest: a slow or silent
//     connection has had the longest to finish, while a real peer finishes
//     in one round trip, so a flood of silent connections cannot lock out
//     a coordinator reconnecting to its participants, as refusing new ones
//     (or not accepting) would.
//
// After the handshake a connection is bounded by the frame limit
// (ServerConfig.MaxFrame), the frame deadline (FrameTimeout: a frame once
// begun must be finished), frame bodies that grow only as their bytes
// arrive (readBody), the bytes its send queue may hold (MaxQueueBytes), and
// the counts and idle timeout of connlimits.go.

// DefaultMaxHandshaking is ServerConfig.MaxHandshaking's default (less under
// a low descriptor limit: LimitsFor): far more
// than a cluster's nodes and clients ever open at once, and with a
// handshaking connection costing about 45 KiB (its goroutine and read
// buffer), about 12 MiB at most.
const DefaultMaxHandshaking = 256

// handshakeMaxFrame bounds the first frame a dialer sends: its Hello.
const handshakeMaxFrame = 4 << 10

// pending is a connection in its handshake.
type pending struct {
	seq     uint64 // accept order
	evicted bool   // closed to make room; not worth a warning of its own
}

// admit registers a new connection in the handshake and returns the one it
// evicted to make room, if any. s.mu must be held.
func (s *Server) admit(nc net.Conn) (evicted net.Conn) {
	s.seq++
	if len(s.handshaking) >= s.cfg.MaxHandshaking {
		var oldest *pending
		for c, p := range s.handshaking {
			if !p.evicted && (oldest == nil || p.seq < oldest.seq) {
				oldest, evicted = p, c
			}
		}
		if oldest != nil {
			oldest.evicted = true
		}
	}
	s.handshaking[nc] = &pending{seq: s.seq}
	return evicted
}

// evict closes a connection admit chose, and says so at most once a second
// (a flood would otherwise write a line per connection).
func (s *Server) evict(nc net.Conn) {
	nc.Close()
	s.evictLog.warn(s.log, "wire: too many connections in handshake; closing the oldest (a flood of slow or silent connections?)",
		"limit", s.cfg.MaxHandshaking, "remote", nc.RemoteAddr().String())
}
