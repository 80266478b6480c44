package partition

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

const (
	// helloTimeout bounds the wait for a new connection's first frame;
	// txd's own dialers send it at once.
	helloTimeout = 5 * time.Second
	// dialTimeout bounds the dial of the target.
	dialTimeout = 5 * time.Second
)

// Proxy stands in front of one node: every connection to its address is
// forwarded to the node's real address, subject to the Net's cuts.
type Proxy struct {
	ID string // the node behind it

	net *Net
	ln  net.Listener

	mu     sync.Mutex // protects following
	target func() string
	pairs  map[*pair]struct{}
	dialed map[string]int // connections opened through the proxy, by dialer
	closed bool

	wg sync.WaitGroup // the accept loop and every connection's goroutines
}

func newProxy(n *Net, id string, target func() string, ln net.Listener) *Proxy {
	return &Proxy{ID: id, net: n, ln: ln, target: target, pairs: map[*pair]struct{}{}, dialed: map[string]int{}}
}

func (p *Proxy) start() {
	p.wg.Add(1)
	go p.accept()
}

// Addr is where the proxy listens: "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address new connections are forwarded to.
func (p *Proxy) Target() string {
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	return target()
}

// SetTarget forwards new connections to addr (a node restarted on another
// port); open connections keep theirs.
func (p *Proxy) SetTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = func() string { return addr }
}

// Conns is the number of connections the proxy holds open.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

// Dialed is how many connections node from has opened through the proxy
// (held or refused ones included): where the nodes' routes go.
func (p *Proxy) Dialed(from string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dialed[from]
}

// Close stops the listener and closes every connection, held or not, and
// returns once all of the proxy's goroutines have. Closing twice is a
// no-op.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	for pr := range p.pairs {
		pr.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or the like: the dialer retries.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		pr := newPair(c)
		p.pairs[pr] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(pr)
	}
}

// serve forwards one connection: it learns the dialer from its Hello,
// dials the target once the dialer may reach it, and pumps both
// directions until both have ended or either fails.
func (p *Proxy) serve(pr *pair) {
	defer p.wg.Done()
	defer func() {
		pr.close()
		p.mu.Lock()
		delete(p.pairs, pr)
		p.mu.Unlock()
	}()
	down := pr.down
	down.SetReadDeadline(time.Now().Add(helloTimeout)) //nolint:errcheck // a failed read says the same
	first, from, err := readHello(down)
	down.SetReadDeadline(time.Time{}) //nolint:errcheck // as above
	if err != nil && len(first) == 0 {
		return
	}
	if from != "" {
		p.mu.Lock()
		p.dialed[from]++
		p.mu.Unlock()
	}
	// A first frame cut short (err set) is passed on as it is: the pump
	// then reads on, or passes on the end of the stream after it.
	upLink, downLink := link{from, p.ID}, link{p.ID, from}
	if !p.net.waitOpen(upLink, pr.ctx.Done()) {
		return
	}
	ctx, cancel := context.WithTimeout(pr.ctx, dialTimeout)
	var d net.Dialer
	up, derr := d.DialContext(ctx, "tcp", p.Target())
	cancel()
	if derr != nil || !pr.attach(up) {
		return // the dialer sees its connection close, as if refused
	}

	p.wg.Add(1)
	back := make(chan struct{})
	go func() {
		defer p.wg.Done()
		defer close(back)
		p.pump(pr, down, up, downLink, nil)
	}()
	p.pump(pr, up, down, upLink, first)
	<-back
}
