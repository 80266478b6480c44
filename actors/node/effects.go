package node

import (
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// SentBefore reports, for a role's crash points, whether the effects
// before i send a message of type M (the first PREPARE and a later one are
// different crash points).
func SentBefore[M wire.Message](effects []protocol.Effect, i int) bool {
	for _, e := range effects[:i] {
		if s, ok := e.(protocol.Send); ok {
			if _, ok := s.Msg.(M); ok {
				return true
			}
		}
	}
	return false
}
