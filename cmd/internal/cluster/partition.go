package cluster

import (
	"github.com/txd/txd/cmd/internal/partition"
)

// Partitions with real processes (Config.Proxied): every node has a
// partition.Proxy in front of it and the nodes reach one another only
// through them. The coordinator's --participants name the participants'
// proxies and its --advertise names its own, so PREPARE's coordinator and
// member addresses, which participants dial to ask, are proxies too. The
// harness and txcli still reach every node at its own address: the test
// is never partitioned from the nodes it observes. The nodes' ids are the
// links' ends (partition reads them from each connection's Hello).

// startProxies puts a proxy in front of every node. Each dials its node's
// current address, which a node's first start may move to another port.
func (c *Cluster) startProxies() {
	c.T.Helper()
	c.Net = partition.New()
	for _, n := range c.Nodes() {
		if _, err := c.Net.AddFunc(n.ID, n.Addr); err != nil {
			c.T.Fatal(err)
		}
	}
	c.Coord.SetFlag("advertise", c.Net.Proxy(c.Coord.ID).Addr())
}

// dialAddr is where the other nodes reach n: its proxy if the cluster is
// proxied, else its own address.
func (c *Cluster) dialAddr(n *Node) string {
	if c.Net == nil {
		return n.Addr()
	}
	return c.Net.Proxy(n.ID).Addr()
}

// ProxyAddr is where the other nodes reach node id ("" if the cluster is
// not proxied).
func (c *Cluster) ProxyAddr(id string) string {
	c.T.Helper()
	c.mustProxied()
	if p := c.Net.Proxy(id); p != nil {
		return p.Addr()
	}
	c.T.Fatalf("no node %s", id)
	return ""
}

// Cut holds everything node from sends to node to (partition.Net.Cut),
// until Heal. The cluster must be Proxied.
func (c *Cluster) Cut(from, to string) {
	c.T.Helper()
	c.mustKnow(from, to)
	c.Net.Cut(from, to)
}

// Heal lets node from reach node to again, delivering what was held.
func (c *Cluster) Heal(from, to string) {
	c.T.Helper()
	c.mustKnow(from, to)
	c.Net.Heal(from, to)
}

// Isolate cuts both directions between a and b.
func (c *Cluster) Isolate(a, b string) {
	c.T.Helper()
	c.Cut(a, b)
	c.Cut(b, a)
}

// Partition replaces every cut with cuts in both directions between every
// two nodes in different groups (partition.Net.Partition).
func (c *Cluster) Partition(groups ...[]string) {
	c.T.Helper()
	for _, g := range groups {
		c.mustKnow(g...)
	}
	c.Net.Partition(groups...)
}

// HealAll heals every link.
func (c *Cluster) HealAll() {
	c.T.Helper()
	c.mustProxied()
	c.Net.HealAll()
}

func (c *Cluster) mustProxied() {
	c.T.Helper()
	if c.Net == nil {
		c.T.Fatal("the cluster has no proxies: set Config.Proxied")
	}
}

// mustKnow fails the test unless the cluster is proxied and every id is
// one of its nodes: a cut of a misspelt id would silently cut nothing.
func (c *Cluster) mustKnow(ids ...string) {
	c.T.Helper()
	c.mustProxied()
	for _, id := range ids {
		if c.Net.Proxy(id) == nil {
			c.T.Fatalf("no node %s", id)
		}
	}
}
