package node

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// StatusDesk serves status requests off the commit path. The node's actor
// only takes a snapshot of its state (StatusSnap): one for every request
// that arrived while the previous snapshot was being taken and sent, however
// many there are. Encoding the reply (up to a frame, 1 MiB) and sending it
// happen on the desk's goroutine, so a flood of status requests costs the
// actor one snapshot per round, never one per request, and never an
// encoding.
//
// Bounds: a connection may have statusPerConn requests unanswered; one more
// means its client asks without reading the replies, and it is closed. At
// most statusWaiting requests wait node-wide; more are answered busy.
// A request whose connection still has more than statusQueuedSlack waiting
// to be written (its client reads slowly, or not at all) is answered busy,
// not with another reply: a status costs a connection at most one reply's
// memory past that slack. The slack lets a small answer still in flight (a
// refused Start's error, a short status) not count as an unread reply. What else
// a client does not read is bounded by the connection's send queue
// (transport.ServerConfig.MaxQueueBytes), which drops it.
// statusQueuedSlack is what a connection may have waiting to be written
// and still get a status reply: small answers that happen to be in flight.
const statusQueuedSlack = 4 << 10

type StatusDesk struct {
	snapshot func(reply chan<- *wire.Status) // asks the actor; it answers on reply
	logger   *slog.Logger
	quit     chan struct{} // closed by close: the actor is going away

	mu      sync.Mutex // protects following
	next    []statusWaiter
	perConn map[*transport.Conn]int
	serving bool // a goroutine is serving rounds
	closed  bool
}

// statusWaiter is one status request waiting for its round.
type statusWaiter struct {
	conn  *transport.Conn
	reqID uint64
}

// StatusSnap asks a node's actor for its status (ReqID 0). The actor
// answers on Reply, which has room for the answer: it never blocks.
type StatusSnap struct{ Reply chan<- *wire.Status }

const (
	statusPerConn = 8                // unanswered status requests one connection may have
	statusWaiting = 1024             // status requests waiting node-wide
	statusTimeout = 10 * time.Second // how long a round waits for the actor
)

// NewStatusDesk serves status for the actor pid of engine.
func NewStatusDesk(engine *actor.Engine, pid *actor.PID, logger *slog.Logger) *StatusDesk {
	return NewStatusDeskFunc(func(reply chan<- *wire.Status) { engine.Send(pid, StatusSnap{Reply: reply}) }, logger)
}

// NewStatusDeskFunc serves status from snapshot, which asks the node for
// it: the answer comes on reply (which has room for it), or never.
func NewStatusDeskFunc(snapshot func(reply chan<- *wire.Status), logger *slog.Logger) *StatusDesk {
	return &StatusDesk{
		snapshot: snapshot,
		logger:   logger,
		quit:     make(chan struct{}),
		perConn:  map[*transport.Conn]int{},
	}
}

// Request queues a status request; it runs on the connection's reader
// goroutine and never blocks.
func (d *StatusDesk) Request(conn *transport.Conn, reqID uint64) {
	select {
	case <-conn.Done():
		return // closed, maybe by us: what it had sent before is dropped
	default:
	}
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		_ = conn.Send(&wire.Error{ReqID: reqID, Code: wire.ErrShutdown, Msg: "node stopping"})
		return
	case d.perConn[conn] >= statusPerConn:
		d.mu.Unlock()
		d.logger.Warn("closing a connection that asks for status without reading the replies",
			"remote", conn.RemoteAddr(), "peer", conn.Remote().NodeID, "unanswered", statusPerConn)
		_ = conn.Send(&wire.Error{ReqID: reqID, Code: wire.ErrBusy,
			Msg: fmt.Sprintf("more than %d status requests unanswered on one connection: read the replies before asking again", statusPerConn)})
		conn.Close()
		return
	case len(d.next) >= statusWaiting:
		d.mu.Unlock()
		_ = conn.Send(&wire.Error{ReqID: reqID, Code: wire.ErrBusy,
			Msg: fmt.Sprintf("%d status requests waiting on this node; retry later", statusWaiting)})
		return
	}
	d.perConn[conn]++
	d.next = append(d.next, statusWaiter{conn: conn, reqID: reqID})
	start := !d.serving
	d.serving = true
	d.mu.Unlock()
	if start {
		go d.serve()
	}
}

// serve runs rounds until no request waits: one snapshot per round,
// answering every request queued before it began.
func (d *StatusDesk) serve() {
	for {
		d.mu.Lock()
		batch := d.next
		d.next = nil
		if len(batch) == 0 {
			d.serving = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		d.answer(batch, d.take())
	}
}

// take asks the actor for a snapshot; nil if it does not answer (stopping).
func (d *StatusDesk) take() *wire.Status {
	reply := make(chan *wire.Status, 1)
	d.snapshot(reply)
	t := time.NewTimer(statusTimeout)
	defer t.Stop()
	select {
	case st := <-reply:
		return st
	case <-t.C:
		d.logger.Error("status: the node did not take a snapshot in time", "waited", statusTimeout)
		return nil
	case <-d.quit:
		return nil
	}
}

// answer sends st to every waiter, each with its own ReqID.
func (d *StatusDesk) answer(batch []statusWaiter, st *wire.Status) {
	var refusal *wire.Error // the same for every waiter once known
	switch {
	case st == nil:
		refusal = &wire.Error{Code: wire.ErrShutdown, Msg: "status not available: the node is stopping or stalled"}
	case len(st.Store) > wire.MaxStatusKeys:
		// A client refuses a longer store (wire/limits.go): say so.
		refusal = &wire.Error{Code: wire.ErrInternal,
			Msg: fmt.Sprintf("status of %d keys: at most %d fit in a status", len(st.Store), wire.MaxStatusKeys)}
	}
	for _, w := range batch {
		switch {
		case refusal != nil:
		case w.conn.Queued() > statusQueuedSlack:
			// Its last reply is not yet off to the socket: another would
			// only pile up behind it. A small refusal instead.
			_ = w.conn.Send(&wire.Error{ReqID: w.reqID, Code: wire.ErrBusy, Msg: "the previous status reply is not yet read; read it before asking again"})
		default:
			m := *st
			m.ReqID = w.reqID
			err := w.conn.Send(&m)
			if errors.Is(err, wire.ErrFrameTooLarge) {
				// A store too big for one frame: status needs paging.
				d.logger.Error("status not sent", "err", err, "keys", len(st.Store), "transactions", len(st.Transactions))
				refusal = &wire.Error{Code: wire.ErrInternal,
					Msg: fmt.Sprintf("status of %d keys and %d transactions does not fit in a frame: %v", len(st.Store), len(st.Transactions), err)}
			}
		}
		if refusal != nil {
			e := *refusal
			e.ReqID = w.reqID
			_ = w.conn.Send(&e)
		}
		d.mu.Lock()
		if d.perConn[w.conn]--; d.perConn[w.conn] <= 0 {
			delete(d.perConn, w.conn)
		}
		d.mu.Unlock()
	}
}

// Close stops waiting for the actor: requests from now on are refused.
func (d *StatusDesk) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		close(d.quit)
	}
}
