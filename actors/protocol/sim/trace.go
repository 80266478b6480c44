package sim

import (
	"fmt"
	"strings"

	"github.com/txd/txd/wire"
)

// SentOf lists the messages of type typ for tx that from sent to to (""
// matches any node), in the order they were sent.
func (s *Sim) SentOf(from, to string, typ wire.Type, tx string) []wire.Message {
	var out []wire.Message
	for _, m := range s.sent {
		if (from == "" || m.From == from) && (to == "" || m.To == to) && m.Msg.Type() == typ && wire.TxIDOf(m.Msg) == tx {
			out = append(out, m.Msg)
		}
	}
	return out
}

// VotesYes counts the YES votes on tx that from sent to the coordinator.
func (s *Sim) VotesYes(from, tx string) int {
	n := 0
	for _, m := range s.SentOf(from, CoordID, wire.TypeVote, tx) {
		if m.(*wire.Vote).Yes {
			n++
		}
	}
	return n
}

// Trace lists every message sent, with the step it was sent at.
func (s *Sim) Trace() string {
	var b strings.Builder
	for _, m := range s.sent {
		fmt.Fprintf(&b, "  #%d %s\n", m.step, m.Envelope)
	}
	return b.String()
}
