package metrics

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Peer is one connection's state at scrape time.
type Peer struct {
	ID  string // the node's id (its address until it was first reached)
	Out bool   // we dial it; false: it connected to us
	Up  bool
}

var peerDesc = prometheus.NewDesc("txd_peer_connected",
	"1 while the connection to this node is up, 0 while it is not. direction: out for nodes we dial, in for nodes that connected to us (shown at 0 after they go).",
	[]string{"peer", "direction"}, nil)

// WatchPeers reports the node's connections at every scrape, as f lists
// them. f runs on the scraping goroutine; an error leaves the gauges out of
// that scrape.
func (n *Node) WatchPeers(f func() ([]Peer, error)) error {
	if n == nil {
		return nil
	}
	return n.reg.Register(&peerCollector{list: f, gone: map[string]bool{}})
}

// peerCollector remembers the nodes that connected to us: such a connection
// vanishes from its owner when it closes, and a gauge that disappears with
// it could not alert on 0. The nodes we dial are always listed by their
// owner, so they need no memory.
type peerCollector struct {
	list func() ([]Peer, error)
	mu   sync.Mutex      // protects following
	gone map[string]bool // inbound peer ids ever seen
}

func (c *peerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- peerDesc }

func (c *peerCollector) Collect(ch chan<- prometheus.Metric) {
	peers, err := c.list()
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	listed := map[[2]string]bool{}
	for _, p := range peers {
		dir := "in"
		if p.Out {
			dir = "out"
		} else {
			c.gone[p.ID] = true
		}
		key := [2]string{p.ID, dir}
		if listed[key] {
			continue // two connections from one node: the first listed speaks
		}
		listed[key] = true
		ch <- prometheus.MustNewConstMetric(peerDesc, prometheus.GaugeValue, b2f(p.Up), p.ID, dir)
	}
	ids := make([]string, 0, len(c.gone))
	for id := range c.gone {
		if !listed[[2]string{id, "in"}] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		ch <- prometheus.MustNewConstMetric(peerDesc, prometheus.GaugeValue, 0, id, "in")
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WatchTransactions reports, at every scrape, the transactions f counts:
// on a participant those in doubt (READY or PRECOMMITTED: voted YES, the
// outcome not known yet), on a coordinator those in flight. An error (the
// node's actor did not answer in time) leaves the gauge out of that scrape
// rather than show a wrong number.
func (n *Node) WatchTransactions(f func() (int, error)) error {
	if n == nil {
		return nil
	}
	d := prometheus.NewDesc("txd_transactions_in_doubt",
		"Transactions that voted YES and do not know their outcome yet (READY or PRECOMMITTED).", nil, nil)
	if n.role == RoleCoordinator {
		d = prometheus.NewDesc("txd_transactions_in_flight",
			"Transactions started and not finished yet (undecided, or decided and still delivering the decision).", nil, nil)
	}
	return n.reg.Register(&countCollector{desc: d, count: f})
}

type countCollector struct {
	desc  *prometheus.Desc
	count func() (int, error)
}

func (c *countCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countCollector) Collect(ch chan<- prometheus.Metric) {
	if v, err := c.count(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v))
	}
}

// CounterFunc exports a counter the node already keeps (WAL and wire
// statistics), read at scrape time.
func (n *Node) CounterFunc(name, help string, f func() int64) error {
	if n == nil {
		return nil
	}
	return n.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
		func() float64 { return float64(f()) }))
}

// GaugeFunc exports a gauge the node already keeps, read at scrape time.
func (n *Node) GaugeFunc(name, help string, f func() int64) error {
	if n == nil {
		return nil
	}
	return n.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
		func() float64 { return float64(f()) }))
}
