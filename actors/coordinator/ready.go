package coordinator

import (
	"fmt"
	"strings"
)

// Ready reports whether the coordinator can run transactions: nil when
// every configured participant's connection is up, else which are not.
// The log was replayed before Start returned.
func (n *Node) Ready() error {
	var down []string
	for _, p := range n.cluster {
		if !p.peer.Connected() {
			down = append(down, p.id())
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("participants not connected: %s", strings.Join(down, ", "))
	}
	return nil
}
