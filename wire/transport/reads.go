package transport

import (
	"context"
	"fmt"

	"github.com/txd/txd/wire"
)

// Get asks a participant for the values of keys and returns one entry per
// key, in their order. It asks at most wire.MaxReadPage keys at a time and
// asks again for what a full page left out, so any number of keys, of any
// size, can be read.
func (cl *Client) Get(ctx context.Context, keys []string) ([]wire.GetEntry, error) {
	out := make([]wire.GetEntry, 0, len(keys))
	for len(out) < len(keys) {
		ask := keys[len(out):]
		ask = ask[:min(len(ask), wire.MaxReadPage)]
		id := cl.nextID.Add(1)
		m, err := cl.call(ctx, id, &wire.GetReq{ReqID: id, Keys: ask})
		if err != nil {
			return nil, err
		}
		switch m := m.(type) {
		case *wire.GetResult:
			if len(m.Entries) == 0 || len(m.Entries) > len(ask) {
				return nil, fmt.Errorf("%w: %d entries in answer to %d keys", wire.ErrMalformed, len(m.Entries), len(ask))
			}
			for i, e := range m.Entries {
				if e.Key != ask[i] {
					return nil, fmt.Errorf("%w: key %q answered in place of %q", wire.ErrMalformed, e.Key, ask[i])
				}
			}
			out = append(out, m.Entries...)
		case *wire.Error:
			return nil, &wire.RemoteError{Code: m.Code, Msg: m.Msg}
		default:
			return nil, fmt.Errorf("%w: %s in answer to GetReq", wire.ErrMalformed, m.Type())
		}
	}
	return out, nil
}

// Scan asks a participant for one page of its keys under prefix that sort
// after after, at most limit of them (0: a full page). Ask again with after
// set to the last key while the answer says More.
func (cl *Client) Scan(ctx context.Context, prefix, after string, limit int) (*wire.ScanResult, error) {
	id := cl.nextID.Add(1)
	m, err := cl.call(ctx, id, &wire.ScanReq{ReqID: id, Prefix: prefix, After: after, Limit: uint64(max(limit, 0))})
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *wire.ScanResult:
		return m, nil
	case *wire.Error:
		return nil, &wire.RemoteError{Code: m.Code, Msg: m.Msg}
	}
	return nil, fmt.Errorf("%w: %s in answer to ScanReq", wire.ErrMalformed, m.Type())
}
