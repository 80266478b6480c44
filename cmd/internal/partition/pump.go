package partition

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
)

// pair is one proxied connection: the dialer's side and, once dialed, the
// target's.
type pair struct {
	down net.Conn // from the dialer
	ctx  context.Context
	stop context.CancelFunc

	mu     sync.Mutex // protects following
	up     net.Conn   // to the target; nil until dialed
	closed bool
}

func newPair(down net.Conn) *pair {
	ctx, stop := context.WithCancel(context.Background())
	return &pair{down: down, ctx: ctx, stop: stop}
}

// attach records the connection to the target; false (and up closed) if
// the pair was closed meanwhile.
func (pr *pair) attach(up net.Conn) bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.closed {
		up.Close()
		return false
	}
	pr.up = up
	return true
}

// close closes both sides and wakes every wait of the pair. Idempotent.
func (pr *pair) close() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.closed {
		return
	}
	pr.closed = true
	pr.stop()
	pr.down.Close()
	if pr.up != nil {
		pr.up.Close()
	}
}

// pumpBuf is how much one direction reads at a time.
const pumpBuf = 32 << 10

// pump copies src to dst, first the bytes in first, holding whatever it has
// read while l is cut. At the end of src it passes the end on (a half
// close), also only once l is open. Any other failure closes the pair.
func (p *Proxy) pump(pr *pair, dst, src net.Conn, l link, first []byte) {
	if len(first) > 0 {
		if !p.net.waitOpen(l, pr.ctx.Done()) {
			return
		}
		if _, err := dst.Write(first); err != nil {
			pr.close()
			return
		}
	}
	buf := make([]byte, pumpBuf)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.net.waitOpen(l, pr.ctx.Done()) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				pr.close()
				return
			}
		}
		if errors.Is(err, io.EOF) {
			if !p.net.waitOpen(l, pr.ctx.Done()) {
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok && tc.CloseWrite() == nil {
				return
			}
			pr.close()
			return
		}
		if err != nil {
			pr.close()
			return
		}
	}
}
