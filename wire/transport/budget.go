package transport

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Node-wide memory budgets shared by a Server's client connections. Each
// client connection is already bounded on its own (MaxQueueBytes waiting to
// be written, one frame of at most MaxFrame being read); these bound what
// all of them hold together, so that what clients make a node hold does
// not grow with MaxClients × (MaxQueueBytes + MaxFrame) (1,024 × 3 MiB at
// the defaults) but stays under ClientMemoryBound: 192 MiB of live heap at
// the defaults (1,024 clients, 32 MiB, 16 MiB). Known peers' connections
// (the commit path) are outside both budgets and never wait for them or
// are dropped by them: their own send-queue bound is peerQueueBytes.
//
// The process's resident memory is its live heap times the collector's
// slack: txd runs with GOGC=400 (actors.GCPercent), so the heap may reach
// five times its live data between collections, and a node's memory beyond
// its base is at most 5 × (its state + ClientMemoryBound), ~1 GiB for the
// clients at the defaults (2 × with GOGC=100; GOMEMLIMIT caps the whole).
const (
	// DefaultClientSendBytes is ServerConfig.ClientSendBytes's default: the
	// bytes queued for sending to all client connections together. A
	// status reply is at most a frame (1 MiB): 32 of the largest wait at
	// once before the client holding the most is dropped.
	DefaultClientSendBytes = 32 << 20
	// DefaultClientReadBytes is ServerConfig.ClientReadBytes's default: the
	// declared lengths of the client frames being read at once that do not
	// fit in a connection's read buffer (32 KiB; the smaller ones, every
	// txcli request but a large transaction, are decoded from that buffer
	// and need none). Sixteen of the largest frames at once; one more
	// waits, at most until its frame timeout.
	DefaultClientReadBytes = 16 << 20
)

// ClientConnBytes is what one established client connection costs at most
// besides its send queue and the frame being read: two 32 KiB buffers, two
// goroutines and their structures (~80 KiB measured, 128 KiB counted for
// stacks that grow).
const ClientConnBytes = 128 << 10

// ClientMemoryBound is the live memory that clients can make a node hold,
// whatever they do, with at most maxClients client connections and the
// given budgets: each connection's own cost, the bytes queued for all of
// them, and the frames being read with what they decode to (a frame a node
// decodes costs at most about its size again, wire/limits.go).
func ClientMemoryBound(maxClients int, sendBytes, readBytes int64) int64 {
	return int64(maxClients)*ClientConnBytes + sendBytes + 2*readBytes
}

// sendBudget is the send side: the bytes queued on every client
// connection, in all. A Send that takes it over its limit drops the client
// connection holding the most (the sender itself, if that is it): a client
// that does not read is the one that costs, and the others keep their
// replies.
type sendBudget struct {
	limit int64
	used  atomic.Int64
	// pick chooses the connection to drop, given the sender; nil: the
	// sender. It is the Server's (largestClient).
	pick func(sender *Conn) *Conn
	log  rateLog
}

// over reports whether the budget is exceeded.
func (b *sendBudget) over() bool { return b.used.Load() > b.limit }

// settledQueue marks a Conn's queued count once its writer has returned
// and its bytes went back to the budget: any count below zero means that,
// and a Send that finds it knows the connection is gone.
const settledQueue = -1 << 62

// addQueued counts n more bytes waiting to be written on c, in c's count
// and in its budget. ok is false when c has settled (no more sending).
func (c *Conn) addQueued(n int64) (q int64, ok bool) {
	q = c.queued.Add(n)
	if q < 0 {
		return q, false
	}
	if b := c.sendBudget; b != nil {
		b.used.Add(n)
	}
	return q, true
}

// subQueued counts n bytes written (or given up). Once c has settled its
// bytes are already back in the budget.
func (c *Conn) subQueued(n int64) {
	if c.queued.Add(-n) >= 0 {
		if b := c.sendBudget; b != nil {
			b.used.Add(-n)
		}
	}
}

// settle runs once the writer has returned: what was still queued goes
// back to the budget, and the frames are let go rather than held until the
// Conn itself is collected. Every count taken before it is given back here
// or by subQueued, exactly once.
func (c *Conn) settle() {
	if q := c.queued.Swap(settledQueue); q > 0 {
		if b := c.sendBudget; b != nil {
			b.used.Add(-q)
		}
	}
	for {
		select {
		case bp := <-c.queue:
			if bp != nil && cap(*bp) <= pooledFrameMax {
				frames.Put(bp)
			}
		default:
			c.wmu.Lock()
			c.direct.head = nil
			c.wmu.Unlock()
			return
		}
	}
}

// chargeSend is called by Send once n bytes are counted on c: if that took
// the budget over its limit, the client holding the most is dropped. It
// returns an error when that is c.
func (c *Conn) chargeSend(n int64) error {
	b := c.sendBudget
	if b == nil || !b.over() {
		return nil
	}
	victim := c
	if b.pick != nil {
		victim = b.pick(c)
	}
	if victim == nil {
		return nil // what is over is already being given back
	}
	err := fmt.Errorf("%w: the clients' send budget (%d bytes) is spent; this connection holds the most (%d bytes) not yet read",
		ErrQueueFull, b.limit, max(victim.Queued(), 0))
	b.log.warn(c.log, "wire: clients do not read what is sent to them and the node's budget for it is spent; dropping the client connection holding the most",
		"limit", b.limit, "remote", victim.remoteAddr, "peer", victim.remote.NodeID, "queued", victim.Queued())
	victim.fail(err, false)
	if victim == c {
		return err
	}
	return nil
}

// largestClient picks the client connection to drop when the send budget
// is spent: the one with the most queued, unless the connections already
// closing will give back enough (nil then).
func (s *Server) largestClient(sender *Conn) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var victim *Conn
	var most, closing int64
	for c, e := range s.conns {
		if e.peer {
			continue
		}
		q := max(c.queued.Load(), 0)
		if c.closing() {
			closing += q
			continue
		}
		if victim == nil || q > most {
			victim, most = c, q
		}
	}
	if s.sendBudget.used.Load()-closing <= s.sendBudget.limit {
		return nil
	}
	if victim == nil {
		return sender
	}
	return victim
}

// readBudget is the read side: a client frame too large for its
// connection's read buffer is read only once its declared length is
// granted, and gives it back once decoded. A frame that cannot get it
// waits, at most until its frame deadline, then the connection is dropped.
type readBudget struct {
	limit int64
	sem   *semaphore.Weighted
	held  atomic.Int64 // granted now (for ClientBytes and tests)
	// waiting counts the frames waiting for budget (tests).
	waiting atomic.Int64
}

func newReadBudget(limit int64) *readBudget {
	return &readBudget{limit: limit, sem: semaphore.NewWeighted(limit)}
}

// acquire takes n bytes (at most the whole budget) before deadline, and
// returns what to give back. It gives up early when done closes (the
// connection is closed).
func (b *readBudget) acquire(n int64, deadline time.Time, done <-chan struct{}) (int64, error) {
	n = min(n, b.limit)
	if b.sem.TryAcquire(n) {
		b.held.Add(n)
		return n, nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	b.waiting.Add(1)
	err := b.sem.Acquire(ctx, n)
	b.waiting.Add(-1)
	if err != nil {
		select {
		case <-done:
			return 0, ErrClosed
		default:
		}
		return 0, fmt.Errorf("wire: the clients' read budget (%d bytes) stayed spent for the frame timeout (a %d-byte frame waited): %w",
			b.limit, n, errBudgetWait)
	}
	b.held.Add(n)
	return n, nil
}

func (b *readBudget) release(n int64) {
	b.held.Add(-n)
	b.sem.Release(n)
}

// errBudgetWait ends a connection whose frame waited too long for budget.
var errBudgetWait = fmt.Errorf("%w: no read budget", ErrConnectionLost)
