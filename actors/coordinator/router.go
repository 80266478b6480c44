package coordinator

import (
	"hash/maphash"
	"log/slog"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/internal/certs"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// router delivers what arrives on the coordinator's connections, clients'
// and participants' alike. Every message about a transaction goes straight
// to the shard its id hashes to, so a client's Start, its retries, the
// members' votes and acks and their queries all meet in one
// protocol.Coordinator, in arrival order per connection. Status and trace
// requests never reach a shard's inbox.
type router struct {
	engine  *actor.Engine
	shards  []*actor.PID
	seed    maphash.Seed
	cluster atomic.Pointer[cluster] // set once the participants' connections exist
	logger  *slog.Logger
	trace   *trace.Ring
	nodeID  string
	desk    *node.StatusDesk
}

// inbound is a message for a shard's protocol.Coordinator, with who sent it.
type inbound struct {
	msg  wire.Message
	from protocol.From
}

func (r *router) shardOf(txid string) *actor.PID {
	if len(r.shards) == 1 {
		return r.shards[0]
	}
	return r.shards[maphash.String(r.seed, txid)%uint64(len(r.shards))]
}

// alias is the address a participant configured by address alone was
// configured by, once its handshake said it is id (protocol.From.Alias).
func (r *router) alias(id string) string {
	if c := r.cluster.Load(); c != nil {
		return c.learnedAddr(id)
	}
	return ""
}

func (r *router) HandleMessage(c *transport.Conn, m wire.Message) {
	from := protocol.From{Conn: c}
	if c.Remote().Role == wire.RoleParticipant {
		from.Node = c.Remote().NodeID
	}
	switch m.(type) {
	case *wire.Vote, *wire.Ack, *wire.QueryReply:
		// A participant's word comes on a participant's connection: a
		// client (a read-only one too) may not vote or ack for one.
		if c.Remote().Role != wire.RoleParticipant {
			r.logger.Debug("ignoring a participant's message from a non-participant", "type", m.Type().String(),
				"from", c.Remote().NodeID, "role", string(c.Remote().Role))
			return
		}
		// And each participant speaks for itself only: no message the
		// coordinator hears carries another participant's word, so one
		// in another's name (B voting as C) is a faulty or hostile peer.
		if txid, claimed := replyOf(m); claimed != from.Node {
			r.logger.Warn("ignoring a participant's message in another's name", "type", m.Type().String(),
				"tx", txid, "claims", claimed, "from", from.Node)
			return
		}
	}
	var txid string
	switch msg := m.(type) {
	case *wire.TraceReq:
		node.AnswerTrace(r.trace, c, r.nodeID, wire.RoleCoordinator, msg)
		return
	case *wire.StatusReq:
		r.desk.Request(c, msg.ReqID) // never on a shard's path
		return
	case *wire.Start:
		if err := certs.CheckWrite(c.PeerCertificate(), "start a transaction"); err != nil {
			r.refuseStart(c, msg, err)
			return
		}
		node.TraceMsg(r.trace, trace.Recv, "client", m)
		txid = msg.TxID
	case *wire.Query:
		node.TraceMsg(r.trace, trace.Recv, c.Remote().NodeID, m)
		// Who asks is who its handshake said, whatever the query claims.
		q := *msg
		q.From = c.Remote().NodeID
		m, txid, from.Alias = &q, q.TxID, r.alias(from.Node)
	case *wire.Vote:
		node.TraceMsg(r.trace, trace.Recv, c.Remote().NodeID, m)
		if !validReply(msg.TxID, msg.From) {
			return
		}
		txid, from.Alias = msg.TxID, r.alias(from.Node)
	case *wire.Ack:
		node.TraceMsg(r.trace, trace.Recv, c.Remote().NodeID, m)
		if !validReply(msg.TxID, msg.From) {
			return
		}
		txid, from.Alias = msg.TxID, r.alias(from.Node)
	case *wire.QueryReply:
		node.TraceMsg(r.trace, trace.Recv, c.Remote().NodeID, m)
		if !validReply(msg.TxID, msg.From) {
			return
		}
		txid, from.Alias = msg.TxID, r.alias(from.Node)
	default:
		r.logger.Debug("ignoring message", "type", m.Type().String(), "from", c.Remote().NodeID)
		return
	}
	r.engine.Send(r.shardOf(txid), inbound{msg: m, from: from})
}

func (r *router) HandleClose(*transport.Conn, error) {}

// refuseStart answers a Start its client's certificate does not allow
// (internal/certs.Role). The connection stays: the client may still ask
// for status and traces.
func (r *router) refuseStart(c *transport.Conn, m *wire.Start, err error) {
	r.logger.Warn("refusing a transaction: the client's certificate does not allow it", "tx", m.TxID,
		"client", c.Remote().NodeID, "role", string(certs.RoleOf(c.PeerCertificate())))
	_ = c.Send(&wire.Error{ReqID: m.ReqID, Code: wire.ErrForbidden, Msg: err.Error()})
}

// replyOf is the transaction a participant's Vote, Ack or QueryReply is
// about, and who it says sent it.
func replyOf(m wire.Message) (txid, from string) {
	switch m := m.(type) {
	case *wire.Vote:
		return m.TxID, m.From
	case *wire.Ack:
		return m.TxID, m.From
	case *wire.QueryReply:
		return m.TxID, m.From
	}
	return "", ""
}

// validReply: a participant's reply names a well-formed transaction and
// sender; anything else is dropped here.
func validReply(txid, from string) bool {
	return wire.CheckID("transaction id", txid) == nil && wire.CheckID("participant id", from) == nil
}
