package coordinator

import (
	"errors"
	"fmt"
	"strings"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// peerInfo is one configured participant.
type peerInfo struct {
	fixedID string // from --participants id=addr; "" to learn it from the handshake
	addr    string
	peer    *transport.Peer
}

// id is the participant's id: configured, or learned from its handshake, or
// its address while it has never been reached.
func (p *peerInfo) id() string {
	if p.fixedID != "" {
		return p.fixedID
	}
	if id := p.peer.Remote().NodeID; id != "" && wire.CheckID("participant id", id) == nil {
		return id
	}
	return p.addr
}

// cluster is the configured participants. It never changes after start,
// and Peer's methods are safe for concurrent use, so any goroutine may
// read it.
type cluster []*peerInfo

// members lists the participants in their configured order, as
// protocol.Coordinator.Start wants them.
func (c cluster) members() []wire.Member {
	out := make([]wire.Member, len(c))
	for i, p := range c {
		out[i] = wire.Member{ID: p.id(), Addr: p.addr}
	}
	return out
}

// peerFor finds a member's connection by id, or by address for a
// transaction begun before its participant first connected, or recovered
// from the log.
func (c cluster) peerFor(id, addr string) *transport.Peer {
	for _, p := range c {
		if p.id() == id {
			return p.peer
		}
	}
	for _, p := range c {
		if (addr != "" && p.addr == addr) || p.addr == id {
			return p.peer
		}
	}
	return nil
}

// learnedAddr is the configured address of the participant configured by
// address alone that identified itself as id (protocol.From.Alias); "" if
// none.
func (c cluster) learnedAddr(id string) string {
	for _, p := range c {
		if p.fixedID == "" && p.peer.Remote().NodeID == id {
			return p.addr
		}
	}
	return ""
}

// knows reports whether a dialer is one of the configured participants, by
// the id configured or learned from our connection to it (one never
// reached yet is served as a client).
func (c cluster) knows(h *wire.Hello) bool {
	if h.Role != wire.RoleParticipant {
		return false
	}
	for _, p := range c {
		if id := p.id(); id != p.addr && id == h.NodeID {
			return true
		}
	}
	return false
}

type peerSpec struct{ id, addr string }

// parsePeers reads --participants entries: "host:port", "http://host:port"
// or "id=host:port".
func parsePeers(list []string) ([]peerSpec, error) {
	var out []peerSpec
	seen := map[string]bool{}
	for _, raw := range list {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		var s peerSpec
		if id, addr, ok := strings.Cut(raw, "="); ok {
			if err := wire.CheckID("participant id", id); err != nil {
				return nil, fmt.Errorf("--participants %q: %w", raw, err)
			}
			s.id, raw = id, addr
		}
		addr, err := wire.NormalizeAddr(raw)
		if err != nil {
			return nil, fmt.Errorf("--participants: %w", err)
		}
		if seen[addr] {
			return nil, fmt.Errorf("--participants: %s listed twice", addr)
		}
		seen[addr] = true
		s.addr = addr
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("--participants: no participant addresses given")
	}
	if len(out) > wire.MaxMembers {
		// A PREPARE lists every member; peers refuse longer lists.
		return nil, fmt.Errorf("--participants: %d participants, at most %d", len(out), wire.MaxMembers)
	}
	return out, nil
}
