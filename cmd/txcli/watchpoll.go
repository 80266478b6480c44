package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/txd/txd/wire"
)

// peerEvery is how often watch asks the participants themselves (their
// statuses carry their stores when small, a summary otherwise: not on
// every refresh).
const peerEvery = time.Second

// poller makes watch's polls: the coordinator's status over one kept
// connection (redialled after any failure), and every peerEvery each
// participant's own status. Only the watch loop calls it.
type poller struct {
	dial      dialFunc
	addr      string   // the coordinator's, normalized ("" until found among the endpoints)
	endpoints []string // --endpoints, normalized: polled by address every peerEvery
	timeout   time.Duration
	conn      client
	lastPeers time.Time
	now       func() time.Time
}

// poll makes one refresh; it returns within about two timeouts.
func (p *poller) poll(ctx context.Context, known []wire.PeerStatus) watchPoll {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var nodes []endpointPoll
	due := p.now().Sub(p.lastPeers) >= peerEvery
	if due && len(p.endpoints) > 0 {
		for i, a := range askAll(ctx, p.dial, p.endpoints) {
			nodes = append(nodes, endpointPoll{addr: p.endpoints[i], st: a.st, err: a.err})
			if p.addr == "" && a.st != nil && a.st.Role == wire.RoleCoordinator {
				p.addr = p.endpoints[i] // the coordinator among them, polled as such from now on
			}
		}
	}
	st, err := p.coordStatus(ctx)
	var peers map[string]peerPoll
	if due && (len(known) > 0 || len(p.endpoints) > 0) {
		p.lastPeers = p.now()
		if len(known) > 0 {
			peers = p.peerStatuses(ctx, known)
		}
	}
	return watchPoll{at: p.now(), coord: st, err: err, peers: peers, nodes: nodes}
}

func (p *poller) coordStatus(ctx context.Context) (*wire.Status, error) {
	if p.addr == "" {
		return nil, errors.New("no coordinator among --endpoints answered")
	}
	if p.conn == nil {
		c, err := connect(ctx, p.dial, p.addr)
		if err != nil {
			return nil, fmt.Errorf("cannot connect: %s", describe(ctx, err, p.timeout))
		}
		p.conn = c
	}
	st, err := await(ctx, func(ctx context.Context) (*wire.Status, error) { return p.conn.Status(ctx) })
	switch {
	case err == nil && st == nil:
		err = errors.New("empty status")
	case err == nil && st.Role != wire.RoleCoordinator:
		p.close()
		return nil, &notCoordinator{st}
	}
	if err != nil {
		p.close()
		if re, ok := remoteError(err); ok {
			return nil, fmt.Errorf("status refused: %s", refusal(re))
		}
		if connectionLost(err) {
			return nil, errors.New("connection lost")
		}
		return nil, fmt.Errorf("no status: %s", describe(ctx, err, p.timeout))
	}
	return st, nil
}

// notCoordinator is an answer from a node that is not a coordinator: a
// wrong address, not an outage.
type notCoordinator struct{ st *wire.Status }

func (e *notCoordinator) Error() string {
	return fmt.Sprintf("that is %s %s, not a coordinator", roleName(e.st.Role), cell(e.st.NodeID))
}

// wrongNode is watch's exit when --coord names another kind of node.
func (p *poller) wrongNode(err error) error {
	var nc *notCoordinator
	if errors.As(err, &nc) {
		return failf("--coord %s: %v (watch needs the coordinator's address)", p.addr, err)
	}
	return nil
}

// close drops the coordinator connection.
func (p *poller) close() {
	if p.conn != nil {
		release(p.conn)
		p.conn = nil
	}
}

// peerStatuses asks every participant at once.
func (p *poller) peerStatuses(ctx context.Context, peers []wire.PeerStatus) map[string]peerPoll {
	coordHost, _, _ := net.SplitHostPort(p.addr)
	out := make(map[string]peerPoll, len(peers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, pv := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps := fetchPeer(ctx, p.dial, coordHost, pv)
			mu.Lock()
			out[pv.ID] = peerPoll{st: ps.st, err: ps.err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}
