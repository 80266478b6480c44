package transport

import (
	"sync/atomic"

	"github.com/txd/txd/wire"
)

// MsgCounts counts a node's messages by type: sent as they are queued on a
// connection, received as they are decoded. The counters are arrays indexed
// by the type tag, so counting is one atomic add and no lookup. Safe for
// concurrent use; the zero value is ready.
type MsgCounts struct {
	sent, received [wire.TypeLimit]atomic.Int64
}

// Sent is how many messages of type t were queued for sending.
func (m *MsgCounts) Sent(t wire.Type) int64 {
	if t >= wire.TypeLimit {
		return 0
	}
	return m.sent[t].Load()
}

// Received is how many messages of type t arrived.
func (m *MsgCounts) Received(t wire.Type) int64 {
	if t >= wire.TypeLimit {
		return 0
	}
	return m.received[t].Load()
}

func (m *MsgCounts) countSent(t wire.Type) {
	if t < wire.TypeLimit {
		m.sent[t].Add(1)
	}
}

func (m *MsgCounts) countReceived(t wire.Type) {
	if t < wire.TypeLimit {
		m.received[t].Add(1)
	}
}
