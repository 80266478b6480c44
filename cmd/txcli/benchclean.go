package main

import (
	"context"
	"fmt"
	"time"

	"github.com/txd/txd/wire"
)

// cleanupJSON is what bench's clean-up did (--json "cleanup").
type cleanupJSON struct {
	Keys         int     `json:"keys"`         // keys deleted (DEL of each key the run wrote)
	Transactions int     `json:"transactions"` // DEL transactions run
	Seconds      float64 `json:"seconds"`
	Error        string  `json:"error,omitempty"` // why it stopped; the keys from there on remain
}

// cleanupID is the id of the clean-up's transaction j.
func cleanupID(prefix string, j int) string { return fmt.Sprintf("%s-del-%d", prefix, j) }

// cleanup deletes every key the run wrote, wire.MaxOps a transaction, one
// transaction at a time (it is not measured; DEL of a key that is not
// there, a transaction that aborted, does nothing). A transaction that
// aborts (a key still locked by a bench transaction whose outcome came
// late) is retried a few times.
func cleanup(ctx context.Context, bc benchConfig, cl client) *cleanupJSON {
	start := time.Now()
	out := &cleanupJSON{}
	defer func() { out.Seconds = time.Since(start).Seconds() }()
	total := bc.written()
	for from, j := 0, 0; from < total; from, j = from+wire.MaxOps, j+1 {
		var ops []wire.Op
		for i := from; i < min(total, from+wire.MaxOps); i++ {
			ops = append(ops, wire.Op{Kind: wire.OpDel, Key: bc.key(i)})
		}
		if err := cleanupTx(ctx, bc, cl, cleanupID(bc.prefix, j), ops); err != nil {
			out.Error = err.Error()
			return out
		}
		out.Keys += len(ops)
		out.Transactions++
	}
	return out
}

// cleanupAttempts bounds the tries of one clean-up transaction, the
// first retryAfter after an abort, each later one twice as long after.
const (
	cleanupAttempts = 5
	retryAfter      = 50 * time.Millisecond
)

func cleanupTx(ctx context.Context, bc benchConfig, cl client, id string, ops []wire.Op) error {
	var last string
	for attempt := range cleanupAttempts {
		if attempt > 0 {
			select {
			case <-time.After(retryAfter << (attempt - 1)):
			case <-ctx.Done():
				return fmt.Errorf("%s: %v", id, ctx.Err())
			}
		}
		tctx, cancel := context.WithTimeout(ctx, bc.timeout)
		res, err := cl.Start(tctx, fmt.Sprintf("%s.%d", id, attempt), bc.proto, ops)
		cancel()
		switch {
		case err != nil:
			return fmt.Errorf("%s: %v", id, err)
		case res.Outcome == wire.StateCommitted:
			return nil
		}
		last = res.Reason
	}
	return fmt.Errorf("%s aborted %d times: %s", id, cleanupAttempts, last)
}
