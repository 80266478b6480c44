package participant

import (
	"fmt"
	"sync"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Who may tell a participant what. A message is judged by the connection it
// came on: the role and id its dialer gave in the handshake (proven by the
// certificate with TLS, merely claimed without), never by the From fields
// of its body, which must agree with it.
//
//   - status (StatusReq): anyone.
//   - a client: status, reads of the store (GetReq, ScanReq: txcli get and
//     scan) and an operator's heuristic decision (Resolve). No node needs
//     another's data, so only a client may read it. A client whose
//     certificate's role is read-only may not resolve (resolve.go).
//   - Prepare, Forget: a coordinator this participant accepts (--coordinator;
//     any id when none is named).
//   - Decision, PreCommit: the transaction's own coordinator, or one of its
//     member participants (a 3PC termination leader pre-commits and
//     announces the outcome to the others).
//   - Query, QueryReply: an accepted coordinator, or a member participant of
//     the transaction. For a transaction with no PREPARE here (a peer asking
//     about one whose PREPARE we never got, which we then abort) membership
//     cannot be checked: any participant named as a member of a transaction
//     here is accepted, a stranger is not.
//
// Anything else is refused: the sender gets an Error (ErrForbidden) and its
// connection is closed. The check costs a few map lookups per message.
//
// Whether a member participant may decide, pre-commit or answer now is
// protocol state, judged by the state machine (protocol/peerword.go): a
// 2PC peer never decides, a 3PC peer only as the termination leader while
// this participant finds the coordinator silent, and a peer's answer counts
// only once we asked. Those refusals keep the connection (refuse.go).
type partPolicy struct {
	self   string
	coords map[string]bool // accepted coordinator ids; empty: any
	// peers are the participants named as members of a transaction here.
	// The actor alone writes it, under mu; knows reads it from connection
	// goroutines under mu, the actor without.
	peers map[string]bool
	mu    sync.RWMutex
}

// txParties is what the policy needs of the state machine: a transaction's
// coordinator and members (protocol.Participant.Parties).
type txParties interface {
	Parties(txid string) (coord string, members []wire.Member, known bool)
}

func newPartPolicy(self string, coords []string) *partPolicy {
	p := &partPolicy{self: self, coords: map[string]bool{}, peers: map[string]bool{}}
	for _, id := range coords {
		p.coords[id] = true
	}
	return p
}

// acceptsCoordinator reports whether id may act as a coordinator here.
func (p *partPolicy) acceptsCoordinator(id string) bool {
	return len(p.coords) == 0 || p.coords[id]
}

// maxKnownPeers bounds the peer set: a cluster has a handful of
// participants, and a coordinator naming ever new members must not grow it
// without end.
const maxKnownPeers = 1024

// learn records the members of a transaction an accepted coordinator
// prepared: they are the peers that may ask about transactions we do not
// know.
func (p *partPolicy) learn(members []wire.Member) {
	for _, m := range members {
		p.know(m.ID)
	}
}

func (p *partPolicy) know(id string) {
	if id != p.self && !p.peers[id] && len(p.peers) < maxKnownPeers {
		p.mu.Lock()
		p.peers[id] = true
		p.mu.Unlock()
	}
}

// knownNode reports whether a dialer is one of this participant's nodes: a
// coordinator it accepts or a member participant it knows. Their
// connections are not counted as clients (transport.ServerConfig.Known). Safe
// from any goroutine.
func (p *partPolicy) knownNode(h *wire.Hello) bool {
	switch h.Role {
	case wire.RoleCoordinator:
		return p.acceptsCoordinator(h.NodeID)
	case wire.RoleParticipant:
		p.mu.RLock()
		defer p.mu.RUnlock()
		return p.peers[h.NodeID]
	}
	return false
}

// check decides whether the sender from may send msg here; nil means yes.
func (p *partPolicy) check(from wire.Hello, msg wire.Message, txs txParties) error {
	if _, ok := msg.(*wire.StatusReq); ok {
		return nil
	}
	if _, ok := msg.(*wire.Resolve); ok {
		// An operator's heuristic decision (txcli resolve): clients only.
		if from.Role == wire.RoleClient {
			return nil
		}
		return fmt.Errorf("%s %q may not resolve a transaction: only an operator's client may", orRole(from.Role), from.NodeID)
	}
	switch msg.(type) {
	case *wire.GetReq, *wire.ScanReq:
		if from.Role == wire.RoleClient {
			return nil
		}
		return fmt.Errorf("%s %q may not read the store (%s): only a client may", orRole(from.Role), from.NodeID, msg.Type())
	}
	switch from.Role {
	case wire.RoleCoordinator:
		return p.fromCoordinator(from.NodeID, msg, txs)
	case wire.RoleParticipant:
		return p.fromParticipant(from.NodeID, msg, txs)
	}
	return fmt.Errorf("%s %q may only ask a participant for its status, read its store or resolve a transaction, not send %s", orRole(from.Role), from.NodeID, msg.Type())
}

func (p *partPolicy) fromCoordinator(id string, msg wire.Message, txs txParties) error {
	if !p.acceptsCoordinator(id) {
		return fmt.Errorf("participant %s does not accept coordinator %q (--coordinator names the ones it does)", p.self, id)
	}
	var txid string
	switch m := msg.(type) {
	case *wire.Prepare:
		if m.Coord != id {
			return fmt.Errorf("coordinator %q sent a PREPARE for %s naming coordinator %q", id, m.TxID, m.Coord)
		}
		txid = m.TxID
	case *wire.Decision:
		txid = m.TxID
	case *wire.PreCommit:
		txid = m.TxID
	case *wire.Query:
		return sameSender(id, m.From, msg)
	case *wire.QueryReply:
		return sameSender(id, m.From, msg)
	case *wire.Forget:
		return nil
	default:
		return fmt.Errorf("a participant does not take %s", msg.Type())
	}
	// A transaction prepared here belongs to its coordinator: another
	// accepted one may not decide it.
	if coord, _, known := txs.Parties(txid); known && coord != id {
		return fmt.Errorf("coordinator %q sent %s for %s, which coordinator %q runs", id, msg.Type(), txid, coord)
	}
	return nil
}

func (p *partPolicy) fromParticipant(id string, msg wire.Message, txs txParties) error {
	var txid string
	switch m := msg.(type) {
	case *wire.Query:
		if err := sameSender(id, m.From, msg); err != nil {
			return err
		}
		txid = m.TxID
	case *wire.QueryReply:
		if err := sameSender(id, m.From, msg); err != nil {
			return err
		}
		txid = m.TxID
	case *wire.Decision:
		txid = m.TxID
	case *wire.PreCommit:
		txid = m.TxID
	case *wire.Prepare, *wire.Forget:
		return fmt.Errorf("only a coordinator may send %s; %q is a participant", msg.Type(), id)
	default:
		return fmt.Errorf("a participant does not take %s", msg.Type())
	}
	if id == p.self {
		return fmt.Errorf("participant %q claims this participant's own id", id)
	}
	if _, members, known := txs.Parties(txid); known {
		for _, m := range members {
			if m.ID == id {
				return nil
			}
		}
		return fmt.Errorf("participant %q is no member of %s", id, txid)
	}
	if !p.peers[id] {
		return fmt.Errorf("participant %q is no member of any transaction here, and %s is not known here", id, txid)
	}
	return nil
}

// sameSender refuses a message whose body claims another sender than the
// connection's handshake: replies and outcomes are credited to From.
func sameSender(conn, body string, msg wire.Message) error {
	if body != conn {
		return fmt.Errorf("%s from %q claims to come from %q", msg.Type(), conn, body)
	}
	return nil
}

func orRole(r wire.Role) string {
	if r == "" {
		return "a peer with no role"
	}
	return string(r)
}

// refuse answers a message its sender may not send with an Error and closes
// the connection, with one warning per connection (messages it had already
// sent are refused quietly).
func (a *participantActor) refuse(conn *transport.Conn, msg wire.Message, err error) {
	select {
	case <-conn.Done():
		return
	default:
	}
	r := conn.Remote()
	a.logger.Warn("refusing a message; closing the connection", "type", msg.Type().String(),
		"remote", conn.RemoteAddr(), "claimed_id", r.NodeID, "role", string(r.Role), "reason", err.Error())
	_ = conn.Send(&wire.Error{Code: wire.ErrForbidden, Msg: err.Error()})
	conn.Close()
}
