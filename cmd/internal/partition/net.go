package partition

import (
	"fmt"
	"net"
	"slices"
	"sync"
)

// link is one direction between two nodes, by id.
type link struct{ from, to string }

// Net is the set of proxies of one test and the links it has cut. It is
// safe for concurrent use.
type Net struct {
	mu      sync.Mutex // protects following
	cut     map[link]bool
	changed chan struct{} // closed and replaced whenever cut changes
	proxies []*Proxy
	closed  bool
}

// New returns a Net with no proxies and no cut.
func New() *Net {
	return &Net{cut: map[link]bool{}, changed: make(chan struct{})}
}

// Add starts a proxy for node id, listening on 127.0.0.1 on a free port and
// forwarding to target ("host:port"), which it dials once per connection.
func (n *Net) Add(id, target string) (*Proxy, error) {
	return n.AddFunc(id, func() string { return target })
}

// AddFunc is Add with the target asked for at every dial: for a node whose
// port may change.
func (n *Net) AddFunc(id string, target func() string) (*Proxy, error) {
	if id == "" {
		return nil, fmt.Errorf("partition: a proxy needs its node's id")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("partition: proxy for %s: %w", id, err)
	}
	p := newProxy(n, id, target, ln)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		p.Close()
		return nil, fmt.Errorf("partition: the net is closed")
	}
	if slices.ContainsFunc(n.proxies, func(q *Proxy) bool { return q.ID == id }) {
		p.Close()
		return nil, fmt.Errorf("partition: %s already has a proxy", id)
	}
	n.proxies = append(n.proxies, p)
	p.start()
	return p, nil
}

// Proxy returns node id's proxy, nil if it has none.
func (n *Net) Proxy(id string) *Proxy {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := slices.IndexFunc(n.proxies, func(q *Proxy) bool { return q.ID == id })
	if i < 0 {
		return nil
	}
	return n.proxies[i]
}

// Cut stops every byte from node from to node to, until Heal. The other
// direction is left as it is.
func (n *Net) Cut(from, to string) { n.set(true, link{from, to}) }

// Heal lets bytes from node from to node to through again, the held ones
// first.
func (n *Net) Heal(from, to string) { n.set(false, link{from, to}) }

// Partition heals every link, then cuts both directions between every two
// nodes in different groups. A node in no group keeps all its links.
func (n *Net) Partition(groups ...[]string) {
	var cuts []link
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					cuts = append(cuts, link{a, b}, link{b, a})
				}
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
	for _, l := range cuts {
		n.cut[l] = true
	}
	n.notify()
}

// HealAll heals every link.
func (n *Net) HealAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
	n.notify()
}

// IsCut reports whether bytes from node from to node to are held.
func (n *Net) IsCut(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cut[link{from, to}]
}

func (n *Net) set(cut bool, l link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if cut {
		n.cut[l] = true
	} else {
		delete(n.cut, l)
	}
	n.notify()
}

// notify wakes every forwarder waiting for a link to heal. n.mu is held.
func (n *Net) notify() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// waitOpen blocks while l is cut. It reports false if stop is closed
// first. A link with an unknown end is never cut.
func (n *Net) waitOpen(l link, stop <-chan struct{}) bool {
	if l.from == "" || l.to == "" {
		return true
	}
	for {
		n.mu.Lock()
		cut, changed := n.cut[l], n.changed
		n.mu.Unlock()
		if !cut {
			return true
		}
		select {
		case <-changed:
		case <-stop:
			return false
		}
	}
}

// Close stops every proxy: their listeners and connections are closed and
// their goroutines have returned when it does. Adding a proxy after Close
// fails.
func (n *Net) Close() error {
	n.mu.Lock()
	n.closed = true
	ps := n.proxies
	n.mu.Unlock()
	var errs []error
	for _, p := range ps {
		if err := p.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("partition: closing: %v", errs)
	}
	return nil
}
