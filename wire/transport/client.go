package wire

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Client makes requests (txcli, benchmarks). Many calls may be in flight at
// once on its one connection; replies are matched to calls by ReqID.
type Client struct {
	conn   *Conn
	nextID atomic.Uint64

	mu       sync.Mutex // protects following
	pending  map[uint64]chan Message
	farewell *RemoteError // an Error with ReqID 0: why the node is about to close
	err      error        // why the connection ended; nil while it is up
}

// DialClient connects to a node as a client ("txcli-<pid>").
func DialClient(ctx context.Context, addr string) (*Client, error) {
	return DialClientTLS(ctx, addr, nil)
}

// DialClientTLS connects to a node as a client over mutual TLS, named by its
// certificate (the node would rename it so anyway); t nil is DialClient.
func DialClientTLS(ctx context.Context, addr string, t *TLS) (*Client, error) {
	cl := &Client{pending: make(map[uint64]chan Message)}
	self := Hello{Version: Version, NodeID: fmt.Sprintf("txcli-%d", os.Getpid()), Role: RoleClient}
	if t != nil {
		self.NodeID = t.Name()
	}
	c, err := DialWith(ctx, addr, self, cl, DialOptions{TLS: t})
	if err != nil {
		return nil, err
	}
	cl.conn = c
	return cl, nil
}

// Remote is the node's identity.
func (cl *Client) Remote() HelloAck {
	r := cl.conn.Remote()
	return HelloAck{Version: r.Version, NodeID: r.NodeID, Role: r.Role}
}

// Start runs a transaction on the coordinator and returns its outcome. A
// refusal comes back as a *RemoteError. ErrConnectionLost means the request
// may or may not have run: its outcome is unknown. More than MaxOps
// operations is refused here: the coordinator would drop the connection.
func (cl *Client) Start(ctx context.Context, txid string, proto Protocol, ops []Op) (*StartResult, error) {
	if len(ops) > MaxOps {
		return nil, fmt.Errorf("too many operations (at most %d)", MaxOps)
	}
	id := cl.nextID.Add(1)
	m, err := cl.call(ctx, id, &Start{ReqID: id, TxID: txid, Protocol: proto, Ops: ops})
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *StartResult:
		return m, nil
	case *Error:
		return nil, &RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, fmt.Errorf("%w: %s in answer to Start", ErrMalformed, m.Type())
}

// Status asks the node for its state.
func (cl *Client) Status(ctx context.Context) (*Status, error) {
	id := cl.nextID.Add(1)
	m, err := cl.call(ctx, id, &StatusReq{ReqID: id})
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *Status:
		return m, nil
	case *Error:
		return nil, &RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, fmt.Errorf("%w: %s in answer to StatusReq", ErrMalformed, m.Type())
}

// Close closes the connection; calls in flight fail with ErrConnectionLost.
func (cl *Client) Close() error {
	err := cl.conn.Close()
	cl.conn.wait()
	return err
}

// call sends req and waits for the reply carrying id.
func (cl *Client) call(ctx context.Context, id uint64, req Message) (Message, error) {
	ch := make(chan Message, 1)
	cl.mu.Lock()
	if cl.err != nil {
		err := cl.err
		cl.mu.Unlock()
		// Not ErrConnectionLost: this request never left.
		return nil, fmt.Errorf("%w (%v)", ErrClosed, err)
	}
	cl.pending[id] = ch
	cl.mu.Unlock()

	if err := cl.conn.Send(req); err != nil {
		cl.forget(id)
		return nil, err // never left: the request certainly did not run
	}
	select {
	case m, ok := <-ch:
		if !ok {
			cl.mu.Lock()
			err := cl.err
			cl.mu.Unlock()
			return nil, err
		}
		return m, nil
	case <-ctx.Done():
		cl.forget(id) // a late reply is dropped
		return nil, ctx.Err()
	}
}

func (cl *Client) forget(id uint64) {
	cl.mu.Lock()
	delete(cl.pending, id)
	cl.mu.Unlock()
}

// HandleMessage delivers a reply to its call. It is the Client's side of
// Handler, not for callers.
func (cl *Client) HandleMessage(_ *Conn, m Message) {
	var id uint64
	switch m := m.(type) {
	case *StartResult:
		id = m.ReqID
	case *Status:
		id = m.ReqID
	case *ResolveResult:
		id = m.ReqID
	case *Trace:
		id = m.ReqID
	case *Error:
		id = m.ReqID
		if id == 0 {
			cl.mu.Lock()
			cl.farewell = &RemoteError{Code: m.Code, Msg: m.Msg}
			cl.mu.Unlock()
			return
		}
	default:
		return // nothing a client asked for
	}
	cl.mu.Lock()
	ch := cl.pending[id]
	delete(cl.pending, id)
	cl.mu.Unlock()
	if ch != nil {
		ch <- m // buffered: never blocks
	}
}

// HandleClose fails every call in flight: the connection that would have
// carried their replies is gone.
func (cl *Client) HandleClose(c *Conn, err error) {
	cl.mu.Lock()
	fw := cl.farewell
	cl.mu.Unlock()
	switch {
	case fw != nil:
		// The node's own reason beats "EOF". Its code is wrapped, not the
		// *RemoteError: errors.As must not mistake a lost connection (outcome
		// unknown) for a refusal (certainly not run).
		err = fmt.Errorf("%w: %s: %s (%w)", ErrConnectionLost, c.RemoteAddr(), fw.Msg, fw.Code)
	case err == nil:
		err = fmt.Errorf("%w: %s: %w", ErrConnectionLost, c.RemoteAddr(), ErrClosed)
	case errors.Is(err, ErrConnectionLost):
		err = fmt.Errorf("wire: %s: %w", c.RemoteAddr(), err)
	default:
		err = fmt.Errorf("%w: %s: %w", ErrConnectionLost, c.RemoteAddr(), err)
	}
	cl.mu.Lock()
	cl.err = err
	for id, ch := range cl.pending {
		close(ch)
		delete(cl.pending, id)
	}
	cl.mu.Unlock()
}
