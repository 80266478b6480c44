package coordinator

import (
	"hash/maphash"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire"
)

// txnShard is a long-lived actor hosting many transactions (txnActor), each
// handled one message at a time as if it were an actor of its own.
//
// A shard rather than a hollywood actor per transaction: an actor per
// transaction costs a spawn (PID, registry entry, inbox, Started/Stopped
// events, a poison pill) and, above all, goroutine stack growth, since
// hollywood runs an inbox on a fresh goroutine each time it goes from idle
// to busy and each of those grows its stack again through the
// transaction's code. A shard's goroutine stays busy across transactions
// under load, so its stack is grown once. (The profile that showed this:
// docs/decisions.md, "Transactions hosted by shard actors".)
//
// Transactions are spread over shards by id, so independent transactions
// run in parallel on several cores; one transaction always lives on one
// shard, so its messages stay in order and its state needs no lock.
type txnShard struct {
	txns   map[string]*txnActor
	self   *actor.PID
	parent *actor.PID // the coordinator actor: told about decisions and ends
	engine *actor.Engine
}

// txnMsg is a message for one hosted transaction (timers, a waiting client,
// a status poll, a forwarded query).
type txnMsg struct {
	id  string
	msg any
}

// newTxn hands a transaction to its shard, which starts it.
type newTxn struct{ t *txnActor }

// stopTxn: the coordinator is done with a finished transaction.
type stopTxn struct{ id string }

func newTxnShard(parent *actor.PID) actor.Producer {
	return func() actor.Receiver {
		return &txnShard{txns: map[string]*txnActor{}, parent: parent}
	}
}

func (s *txnShard) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		s.self, s.engine = c.PID(), c.Engine()
	case actor.Stopped:
		for _, t := range s.txns {
			t.stop()
		}
	case newTxn:
		s.txns[m.t.id] = m.t
		m.t.start(s)
	case stopTxn:
		if t := s.txns[m.id]; t != nil {
			t.stop()
			delete(s.txns, m.id)
		}
	case txnMsg:
		if t := s.txns[m.id]; t != nil {
			t.handle(m.msg)
		}
	case walwriter.Durable:
		if t := s.txns[m.Rec.TxID]; t != nil {
			t.handle(m)
		}
	case inbound:
		// A participant's vote, ack or query reply, from the connection
		// reader. Its transaction is gone: the coordinator answers.
		t := s.txns[replyTxID(m.msg)]
		if t == nil {
			s.engine.Send(s.parent, m)
			return
		}
		t.handle(m.msg)
	}
}

// replyTxID is the transaction a participant's reply is about.
func replyTxID(m wire.Message) string {
	switch msg := m.(type) {
	case *wire.Vote:
		return msg.TxID
	case *wire.Ack:
		return msg.TxID
	case *wire.QueryReply:
		return msg.TxID
	}
	return ""
}

// txnShards picks a transaction's shard.
type txnShards struct {
	pids []*actor.PID
	seed maphash.Seed
}

func (s *txnShards) of(txid string) *actor.PID {
	if len(s.pids) == 1 {
		return s.pids[0]
	}
	return s.pids[maphash.String(s.seed, txid)%uint64(len(s.pids))]
}
