package wire

import "sync/atomic"

// MsgCounts counts a node's messages by type: sent as they are queued on a
// connection, received as they are decoded. The counters are arrays indexed
// by the type tag, so counting is one atomic add and no lookup. Safe for
// concurrent use; the zero value is ready.
type MsgCounts struct {
	sent, received [typeLimit]atomic.Int64
}

// Sent is how many messages of type t were queued for sending.
func (m *MsgCounts) Sent(t Type) int64 {
	if t >= typeLimit {
		return 0
	}
	return m.sent[t].Load()
}

// Received is how many messages of type t arrived.
func (m *MsgCounts) Received(t Type) int64 {
	if t >= typeLimit {
		return 0
	}
	return m.received[t].Load()
}

func (m *MsgCounts) countSent(t Type) {
	if t < typeLimit {
		m.sent[t].Add(1)
	}
}

func (m *MsgCounts) countReceived(t Type) {
	if t < typeLimit {
		m.received[t].Add(1)
	}
}

// Types lists every valid message type in tag order.
func Types() []Type {
	out := make([]Type, 0, typeLimit-1)
	for t := Type(1); t < typeLimit; t++ {
		out = append(out, t)
	}
	return out
}
