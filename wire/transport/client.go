package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/txd/txd/wire"
)

// Client makes requests (txcli, benchmarks). Many calls may be in flight at
// once on its one connection; replies are matched to calls by ReqID.
type Client struct {
	conn   *Conn
	nextID atomic.Uint64

	mu       sync.Mutex // protects following
	pending  map[uint64]chan wire.Message
	farewell *wire.RemoteError // an Error with ReqID 0: why the node is about to close
	err      error             // why the connection ended; nil while it is up
}

// DialClient connects to a node as a client ("txcli-<pid>").
func DialClient(ctx context.Context, addr string) (*Client, error) {
	return DialClientTLS(ctx, addr, nil)
}

// DialClientTLS connects to a node as a client over mutual TLS, named by its
// certificate (the node would rename it so anyway); t nil is DialClient.
func DialClientTLS(ctx context.Context, addr string, t *TLS) (*Client, error) {
	cl := &Client{pending: make(map[uint64]chan wire.Message)}
	self := wire.Hello{Version: wire.Version, NodeID: fmt.Sprintf("txcli-%d", os.Getpid()), Role: wire.RoleClient}
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
func (cl *Client) Remote() wire.HelloAck {
	r := cl.conn.Remote()
	return wire.HelloAck{Version: r.Version, NodeID: r.NodeID, Role: r.Role}
}

// Start runs a transaction on the coordinator and returns its outcome. A
// refusal comes back as a *RemoteError. ErrConnectionLost means the request
// may or may not have run: its outcome is unknown. More than MaxOps
// operations is refused here: the coordinator would drop the connection;
// and so is a transaction over the size limits (wire.MaxValueLen,
// wire.MaxTxBytes), which the coordinator refuses.
func (cl *Client) Start(ctx context.Context, txid string, proto wire.Protocol, ops []wire.Op) (*wire.StartResult, error) {
	if len(ops) > wire.MaxOps {
		return nil, fmt.Errorf("too many operations (at most %d)", wire.MaxOps)
	}
	for _, op := range ops {
		if err := wire.CheckValue(op.Key, op.Value); err != nil {
			return nil, err
		}
	}
	if err := wire.CheckTxBytes(ops); err != nil {
		return nil, err
	}
	id := cl.nextID.Add(1)
	m, err := cl.call(ctx, id, &wire.Start{ReqID: id, TxID: txid, Protocol: proto, Ops: ops})
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *wire.StartResult:
		return m, nil
	case *wire.Error:
		return nil, &wire.RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, fmt.Errorf("%w: %s in answer to Start", wire.ErrMalformed, m.Type())
}

// Status asks the node for its state.
func (cl *Client) Status(ctx context.Context) (*wire.Status, error) {
	id := cl.nextID.Add(1)
	m, err := cl.call(ctx, id, &wire.StatusReq{ReqID: id})
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *wire.Status:
		return m, nil
	case *wire.Error:
		return nil, &wire.RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, fmt.Errorf("%w: %s in answer to StatusReq", wire.ErrMalformed, m.Type())
}

// Close closes the connection; calls in flight fail with ErrConnectionLost.
func (cl *Client) Close() error {
	err := cl.conn.Close()
	cl.conn.wait()
	return err
}

// call sends req and waits for the reply carrying id.
func (cl *Client) call(ctx context.Context, id uint64, req wire.Message) (wire.Message, error) {
	ch := make(chan wire.Message, 1)
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
func (cl *Client) HandleMessage(_ *Conn, m wire.Message) {
	var id uint64
	switch m := m.(type) {
	case *wire.StartResult:
		id = m.ReqID
	case *wire.Status:
		id = m.ReqID
	case *wire.ResolveResult:
		id = m.ReqID
	case *wire.Trace:
		id = m.ReqID
	case *wire.GetResult:
		id = m.ReqID
	case *wire.ScanResult:
		id = m.ReqID
	case *wire.Error:
		id = m.ReqID
		if id == 0 {
			cl.mu.Lock()
			cl.farewell = &wire.RemoteError{Code: m.Code, Msg: m.Msg}
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

// Resolve asks a participant to apply a heuristic outcome (see Resolve). A
// refusal is a ResolveResult with Refused set, not an error; an error is a
// *RemoteError (the node could not handle the request) or a lost
// connection, after which whether the outcome was applied is unknown.
// force says the operator overrode txcli's safety checks (wire.Resolve).
func (cl *Client) Resolve(ctx context.Context, txid string, commit, force bool) (*wire.ResolveResult, error) {
	id := cl.nextID.Add(1)
	m, err := cl.call(ctx, id, &wire.Resolve{ReqID: id, TxID: txid, Commit: commit, Force: force})
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *wire.ResolveResult:
		return m, nil
	case *wire.Error:
		return nil, &wire.RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, fmt.Errorf("%w: %s in answer to Resolve", wire.ErrMalformed, m.Type())
}

// Trace asks the node for what it recorded of transaction txid. A node that
// knows nothing of it answers with no events.
func (cl *Client) Trace(ctx context.Context, txid string) (*wire.Trace, error) {
	id := cl.nextID.Add(1)
	m, err := cl.call(ctx, id, &wire.TraceReq{ReqID: id, TxID: txid})
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *wire.Trace:
		return m, nil
	case *wire.Error:
		return nil, &wire.RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, fmt.Errorf("%w: %s in answer to TraceReq", wire.ErrMalformed, m.Type())
}
