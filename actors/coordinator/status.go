package coordinator

import (
	"sort"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// statusFinished is how many finished transactions a status shows (the
// most recent); every running one is always shown. The whole outcome
// window (--keep-outcomes) would not fit in a frame.
const statusFinished = 1000

// status answers the status desk (node.StatusDesk) with the node's status:
// every shard's part, merged in the order the transactions arrived. It runs
// on the desk's goroutine; each shard only copies its running transactions
// and newest finished ones.
func (n *Node) status(reply chan<- *wire.Status) {
	parts := make(chan protocol.CoordStatus, len(n.shards))
	for _, pid := range n.shards {
		n.engine.Send(pid, statusAsk{reply: parts})
	}
	st := &wire.Status{NodeID: n.nodeID, Role: wire.RoleCoordinator, Boot: n.boot}
	for _, p := range n.cluster {
		st.Participants = append(st.Participants, wire.PeerStatus{ID: p.id(), Addr: p.addr, Connected: p.peer.Connected()})
	}
	var all []seenTx
	timeout := time.NewTimer(statusWait)
	defer timeout.Stop()
	for range n.shards {
		select {
		case part := <-parts:
			st.Committed += part.Committed
			st.Aborted += part.Aborted
			for i, t := range part.Txns {
				all = append(all, seenTx{t, part.Seen[i], part.Finished[i]})
			}
		case <-timeout.C:
			return // the desk gives up too, and says the node is stalled
		}
	}
	st.Transactions = newest(all, statusFinished)
	st.Now = time.Now().UnixNano()
	reply <- st // buffered for this one answer
}

// statusWait bounds how long status waits for the shards (the desk waits
// somewhat longer, then answers "stalled").
const statusWait = 8 * time.Second

// seenTx is a transaction's status with when it entered its shard.
type seenTx struct {
	wire.TxStatus
	seen     int64
	finished bool
}

// newest puts the shards' lists in arrival order and keeps every running
// transaction and the newest maxFinished finished ones.
func newest(all []seenTx, maxFinished int) []wire.TxStatus {
	sort.SliceStable(all, func(i, j int) bool { return all[i].seen < all[j].seen })
	finished := 0
	for _, t := range all {
		if t.finished {
			finished++
		}
	}
	out := make([]wire.TxStatus, 0, len(all))
	for _, t := range all {
		if t.finished && finished > maxFinished {
			finished--
			continue
		}
		out = append(out, t.TxStatus)
	}
	return out
}
