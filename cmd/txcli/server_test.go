package main

import (
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// testNode is a fake txd node on a real transport.Server.
type testNode struct {
	self wire.HelloAck
	// onStart answers a Start; nil answers bad_request.
	onStart func(c *transport.Conn, m *wire.Start)
	status  wire.Status
	// store answers GetReq and ScanReq, page entries at most a page (0:
	// wire.MaxReadPage); scans counts the ScanReqs.
	store map[string]string
	page  int

	mu     sync.Mutex
	starts []wire.Start
	scans  int
}

func (n *testNode) HandleMessage(c *transport.Conn, m wire.Message) {
	switch m := m.(type) {
	case *wire.Start:
		n.mu.Lock()
		n.starts = append(n.starts, *m)
		n.mu.Unlock()
		if n.onStart == nil {
			c.Send(&wire.Error{ReqID: m.ReqID, Code: wire.ErrBadRequest, Msg: "not a coordinator"})
			return
		}
		n.onStart(c, m)
	case *wire.StatusReq:
		st := n.status
		st.ReqID = m.ReqID
		c.Send(&st)
	case *wire.GetReq:
		res := &wire.GetResult{ReqID: m.ReqID}
		for _, k := range m.Keys[:min(len(m.Keys), n.pageSize())] {
			v, ok := n.store[k]
			res.Entries = append(res.Entries, wire.GetEntry{Key: k, Value: v, Found: ok})
		}
		c.Send(res)
	case *wire.ScanReq:
		n.mu.Lock()
		n.scans++
		n.mu.Unlock()
		var keys []string
		for k := range n.store {
			if k > m.After && strings.HasPrefix(k, m.Prefix) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		limit := n.pageSize()
		if m.Limit > 0 {
			limit = min(limit, int(m.Limit))
		}
		res := &wire.ScanResult{ReqID: m.ReqID, More: len(keys) > limit}
		for _, k := range keys[:min(len(keys), limit)] {
			res.Entries = append(res.Entries, wire.Entry{Key: k, Value: n.store[k]})
		}
		c.Send(res)
	}
}

func (n *testNode) pageSize() int {
	if n.page > 0 {
		return n.page
	}
	return wire.MaxReadPage
}

func (n *testNode) scanCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.scans
}

func (n *testNode) HandleClose(*transport.Conn, error) {}

func (n *testNode) received() []wire.Start {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]wire.Start(nil), n.starts...)
}

// serve runs n on 127.0.0.1 and returns its address.
func serve(t *testing.T, n *testNode) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := transport.NewServer(ln, transport.ServerConfig{Self: n.self, Handler: n})
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

// closedAddr is a local address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// coordinator answers every Start with outcome and reason.
func coordinator(outcome wire.State, reason string) *testNode {
	return &testNode{
		self: wire.HelloAck{NodeID: "COORD", Role: wire.RoleCoordinator},
		onStart: func(c *transport.Conn, m *wire.Start) {
			c.Send(&wire.StartResult{ReqID: m.ReqID, TxID: m.TxID, Protocol: m.Protocol, Outcome: outcome, Reason: reason})
		},
	}
}

func participantB() *testNode {
	return &testNode{
		self: wire.HelloAck{NodeID: "B", Role: wire.RoleParticipant},
		status: wire.Status{
			NodeID: "B", Role: wire.RoleParticipant,
			Store: map[string]string{"balance": "1000", "alpha": "x y"},
			Transactions: []wire.TxStatus{
				{TxID: "TX1", Protocol: wire.TwoPC, State: wire.StateCommitted},
				{TxID: "T2", Protocol: wire.TwoPC, State: wire.StateAborted, Reason: "B: balance would be -200"},
				{TxID: "T3", Protocol: wire.ThreePC, State: wire.StateReady},
			},
		},
	}
}
