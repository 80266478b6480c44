package main

import (
	"context"

	"github.com/txd/txd/wire"
)

// dialWire is the real dialFunc.
func dialWire(ctx context.Context, addr string) (client, error) {
	c, err := wire.DialClient(ctx, addr)
	if err != nil {
		return nil, err
	}
	return c, nil
}
