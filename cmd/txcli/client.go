package main

import (
	"context"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// client is what txcli needs of a connection to a node: *transport.Client.
type client interface {
	Remote() wire.HelloAck
	Start(ctx context.Context, txid string, proto wire.Protocol, ops []wire.Op) (*wire.StartResult, error)
	Status(ctx context.Context) (*wire.Status, error)
	Trace(ctx context.Context, txid string) (*wire.Trace, error)
	Close() error
}

// dialFunc connects to the node at addr ("host:port").
type dialFunc func(ctx context.Context, addr string) (client, error)

// dialWire is the real dialFunc. It runs mutual TLS when withTLS handed it
// an identity.
func dialWire(ctx context.Context, addr string) (client, error) {
	id, _ := ctx.Value(tlsKey{}).(*transport.TLS)
	c, err := transport.DialClientTLS(ctx, addr, id)
	if err != nil {
		return nil, err // not a non-nil interface holding a nil *transport.Client
	}
	return c, nil
}

type tlsKey struct{}

// withTLS makes dial run mutual TLS as id. The identity travels in the
// context because the dialFunc is handed down (the real one or a test's
// fake) before the flags that name the certificate are read; a fake just
// ignores it.
func withTLS(dial dialFunc, id *transport.TLS) dialFunc {
	return func(ctx context.Context, addr string) (client, error) {
		return dial(context.WithValue(ctx, tlsKey{}, id), addr)
	}
}

// connect dials addr but gives up when ctx ends even if the dialer does not;
// a connection that arrives after that is closed.
func connect(ctx context.Context, dial dialFunc, addr string) (client, error) {
	type dialed struct {
		c   client
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, err := dial(ctx, addr)
		ch <- dialed{c, err}
	}()
	select {
	case d := <-ch:
		return d.c, d.err
	case <-ctx.Done():
		go func() {
			if d := <-ch; d.c != nil {
				d.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// await runs call but returns ctx.Err() as soon as ctx ends, even if call
// does not: txcli never waits past --timeout. The caller releases the
// client, which ends an abandoned call.
func await[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	type answer struct {
		v   T
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		v, err := call(ctx)
		ch <- answer{v, err}
	}()
	select {
	case a := <-ch:
		return a.v, a.err
	case <-ctx.Done():
		select {
		case a := <-ch: // it arrived just in time
			return a.v, a.err
		default:
		}
		var zero T
		return zero, ctx.Err()
	}
}

// closeTimeout bounds how long closing a connection may delay txcli's exit.
const closeTimeout = 500 * time.Millisecond

// release closes c, waiting at most closeTimeout: a peer that stopped
// reading must not keep txcli past --timeout.
func release(c client) {
	done := make(chan struct{})
	go func() {
		c.Close()
		close(done)
	}()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
