package main

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/txd/txd/wire"
)

// What txcli resolve asks before it decides anything: every node the
// command names, then every member of the transaction and its
// coordinator, as the nodes in doubt report them (wire.TxStatus.Members,
// Coord, CoordAddr). The assessment (resolveplan.go) is pure: it reads a
// survey only.

// nodeView is one node as the survey found it.
type nodeView struct {
	id    string // as the transaction's members name it ("" until known)
	addr  string // where it was asked
	given bool   // named on the command line
	st    *wire.Status
	err   error          // unreachable, or not the node expected
	tx    *wire.TxStatus // its entry for the transaction; nil: not listed
}

func (n *nodeView) reachable() bool { return n.err == nil && n.st != nil }

// survey is the transaction as every node that could be asked sees it.
type survey struct {
	txid    string
	proto   wire.Protocol
	coord   *nodeView   // nil: no node named a coordinator
	members []*nodeView // participants: the given ones first, then the other members
}

// member returns the participant with id, if surveyed.
func (sv *survey) member(id string) *nodeView {
	for _, m := range sv.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

// surveyTx asks the nodes at addrs (participants, or a coordinator), then
// the members and coordinator they report for txid and have not been
// asked yet. Each status has a short timeout; an unreachable node is
// recorded, not an error.
func surveyTx(ctx context.Context, dial dialFunc, txid string, addrs []string) *survey {
	sv := &survey{txid: txid}
	first := askAll(ctx, dial, addrs)
	asked := map[string]bool{}
	for i, addr := range addrs {
		asked[addr] = true
		n := &nodeView{addr: addr, given: true}
		n.st, n.err = first[i].st, first[i].err
		if n.reachable() {
			n.id = n.st.NodeID
			n.tx = txOf(n.st, txid)
		}
		if n.reachable() && n.st.Role == wire.RoleCoordinator {
			if sv.coord == nil {
				sv.coord = n
			}
			continue
		}
		sv.members = append(sv.members, n)
	}

	// Who else to ask: the members and the coordinator the nodes report.
	type want struct{ id, addr string }
	var more []want
	wantCoord := sv.coord == nil
	for _, n := range append([]*nodeView{sv.coord}, sv.members...) {
		if n == nil || n.tx == nil {
			continue
		}
		if sv.proto == "" {
			sv.proto = n.tx.Protocol
		}
		host, _, _ := net.SplitHostPort(n.addr)
		if n.st.Role == wire.RoleCoordinator {
			for _, p := range n.st.Participants {
				if _, member := n.tx.Participants[p.ID]; member {
					if a, err := peerAddr(p.Addr, host); err == nil && !asked[a] && sv.member(p.ID) == nil {
						asked[a] = true
						more = append(more, want{p.ID, a})
					}
				}
			}
			continue
		}
		if n.tx.Doubt == nil {
			continue
		}
		for _, m := range n.tx.Doubt.Members {
			if a, err := peerAddr(m.Addr, host); err == nil && !asked[a] && sv.member(m.ID) == nil {
				asked[a] = true
				more = append(more, want{m.ID, a})
			}
		}
		if d := n.tx.Doubt; wantCoord && d.CoordAddr != "" {
			if a, err := peerAddr(d.CoordAddr, host); err == nil && !asked[a] {
				asked[a] = true
				wantCoord = false
				more = append(more, want{d.Coord, a})
				sv.coord = &nodeView{id: d.Coord, addr: a}
			}
		}
	}
	addrs = addrs[:0:0]
	for _, w := range more {
		addrs = append(addrs, w.addr)
	}
	next := askAll(ctx, dial, addrs)
	for i, w := range more {
		n := &nodeView{id: w.id, addr: w.addr}
		if sv.coord != nil && sv.coord.addr == w.addr {
			n = sv.coord
		}
		n.st, n.err = next[i].st, next[i].err
		if n.reachable() && n.id != "" && n.st.NodeID != n.id {
			n.err = fmt.Errorf("%s is %s %s, not %s", w.addr, roleName(n.st.Role), cell(n.st.NodeID), w.id)
		}
		if n.reachable() {
			n.tx = txOf(n.st, txid)
		}
		if n != sv.coord {
			sv.members = append(sv.members, n)
		}
	}
	return sv
}

// asked is one status request's answer.
type asked struct {
	st  *wire.Status
	err error
}

// askAll asks every address at once, each with peerTimeout at most.
func askAll(ctx context.Context, dial dialFunc, addrs []string) []asked {
	return fanOut(len(addrs), func(i int) asked {
		st, err := fetchShort(ctx, dial, "node", addrs[i])
		return asked{st, err}
	})
}

// fanOut runs f(0) ... f(n-1) at once and returns their results in order.
func fanOut[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = f(i) })
	}
	wg.Wait()
	return out
}

// txOf is st's entry for txid, nil if it lists none.
func txOf(st *wire.Status, txid string) *wire.TxStatus {
	for i := range st.Transactions {
		if st.Transactions[i].TxID == txid {
			return &st.Transactions[i]
		}
	}
	return nil
}
