package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// bench against a fake coordinator: every transaction is sent once, the
// counts and the JSON fields add up, and aborts give exit 1.
func TestBench(t *testing.T) {
	clearEnv(t)
	var calls atomic.Int64
	seen := make(chan string, 1000)
	fc := &fakeCluster{nodes: map[string]*fakeNode{"127.0.0.1:1": {
		hello: coordHello(),
		start: func(ctx context.Context, txid string, proto wire.Protocol, ops []wire.Op) (*wire.StartResult, error) {
			if ops[0].Kind == wire.OpDel {
				if txid != "x-del-0.0" || len(ops) != 100 || ops[99].Key != "bench/x/99" {
					t.Errorf("clean-up %s: %d ops, last %v", txid, len(ops), ops[len(ops)-1])
				}
				return &wire.StartResult{TxID: txid, Protocol: proto, Outcome: wire.StateCommitted}, nil
			}
			n := calls.Add(1)
			seen <- txid
			if len(ops) != 1 || ops[0].Kind != wire.OpAdd || ops[0].Delta != 1 || !strings.HasPrefix(ops[0].Key, "bench/x/") {
				t.Errorf("ops %v", ops)
			}
			out := wire.StateCommitted
			reason := ""
			if n%10 == 0 {
				out, reason = wire.StateAborted, "B: key bench.1 is locked by x-3"
			}
			return &wire.StartResult{TxID: txid, Protocol: proto, Outcome: out, Reason: reason}, nil
		},
	}}}
	r := txcli(t, fc.dial, "--coord", "127.0.0.1:1", "bench", "--json", "-n", "100", "-c", "8", "--prefix", "x", "--protocol", "3PC")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (some aborted); stderr %q", r.code, r.errOut)
	}
	close(seen)
	ids := map[string]bool{}
	for id := range seen {
		if ids[id] {
			t.Errorf("%s sent twice", id)
		}
		ids[id] = true
	}
	if len(ids) != 100 {
		t.Errorf("%d distinct transactions, want 100", len(ids))
	}
	m := decodeJSON(t, r.out)
	for _, f := range []string{"coordinator", "protocol", "concurrency", "requested", "committed", "aborted", "errors", "seconds", "tx_per_sec", "latency_us", "histogram"} {
		if _, ok := m[f]; !ok {
			t.Errorf("JSON lacks %q: %s", f, r.out)
		}
	}
	if m["committed"].(float64) != 90 || m["aborted"].(float64) != 10 || m["protocol"] != "3PC" {
		t.Errorf("counts: %s", r.out)
	}
	if !strings.Contains(r.out, "is locked by another transaction") {
		t.Errorf("abort reasons not grouped: %s", r.out)
	}
	if c, ok := m["cleanup"].(map[string]any); !ok || c["keys"].(float64) != 100 || c["transactions"].(float64) != 1 || m["key_prefix"] != "bench/x/" || m["kept"] != false {
		t.Errorf("clean-up: %s", r.out)
	}
}

// benchCoord is a coordinator that commits everything but aborts the
// first fails clean-up transactions it is sent (a key still locked),
// recording the keys added and deleted.
type benchCoord struct {
	mu            sync.Mutex
	added, del    map[string]int
	delTxs, fails int
}

func (b *benchCoord) start(ctx context.Context, txid string, proto wire.Protocol, ops []wire.Op) (*wire.StartResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	res := &wire.StartResult{TxID: txid, Protocol: proto, Outcome: wire.StateCommitted}
	if ops[0].Kind == wire.OpDel && b.fails > 0 {
		b.fails--
		res.Outcome, res.Reason = wire.StateAborted, "key locked"
		return res, nil
	}
	for _, op := range ops {
		switch op.Kind {
		case wire.OpAdd:
			b.added[op.Key]++
		case wire.OpDel:
			b.del[op.Key]++
		}
	}
	if ops[0].Kind == wire.OpDel {
		b.delTxs++
		if len(ops) > wire.MaxOps {
			return nil, &wire.RemoteError{Code: wire.ErrBadRequest, Msg: "too many operations"}
		}
	}
	return res, nil
}

// TestBenchCleansUp: every key bench added is deleted once, in
// transactions of at most MaxOps, after a retry of an aborted one; with
// --keep none is; --keys K deletes the K keys.
func TestBenchCleansUp(t *testing.T) {
	clearEnv(t)
	for _, c := range []struct {
		args      []string
		keys, txs int
		keep      bool
	}{
		{[]string{"-n", "2100"}, 2100, 3, false},
		{[]string{"-n", "300", "--keys", "7"}, 7, 1, false},
		{[]string{"-n", "50", "--keep"}, 50, 0, true},
	} {
		bc := &benchCoord{added: map[string]int{}, del: map[string]int{}, fails: 2}
		fc := &fakeCluster{nodes: map[string]*fakeNode{"c:1": {hello: coordHello(), start: bc.start}}}
		r := txcli(t, fc.dial, append([]string{"--coord", "c:1", "bench", "-c", "8", "--prefix", "p"}, c.args...)...)
		if r.code != exitOK {
			t.Fatalf("%v: exit %d, stderr %s", c.args, r.code, r.errOut)
		}
		if len(bc.added) != c.keys {
			t.Errorf("%v: %d keys added, want %d", c.args, len(bc.added), c.keys)
		}
		for k := range bc.added {
			if !strings.HasPrefix(k, "bench/p/") || !c.keep && bc.del[k] != 1 {
				t.Errorf("%v: key %s deleted %d times", c.args, k, bc.del[k])
			}
		}
		if c.keep && len(bc.del) != 0 || len(bc.del) > len(bc.added) || bc.delTxs != c.txs {
			t.Errorf("%v: %d keys deleted in %d transactions, want %d", c.args, len(bc.del), bc.delTxs, c.txs)
		}
		if want := "cleaned up  "; !c.keep && !strings.Contains(r.out, want) || c.keep && !strings.Contains(r.out, "keys kept under bench/p/") {
			t.Errorf("%v: stdout\n%s", c.args, r.out)
		}
	}
}

// TestBenchCleanupFails: a clean-up that cannot finish exits 2 and says
// where the keys remain.
func TestBenchCleanupFails(t *testing.T) {
	clearEnv(t)
	bc := &benchCoord{added: map[string]int{}, del: map[string]int{}, fails: cleanupAttempts}
	fc := &fakeCluster{nodes: map[string]*fakeNode{"c:1": {hello: coordHello(), start: bc.start}}}
	r := txcli(t, fc.dial, "--coord", "c:1", "bench", "-n", "10", "--prefix", "p")
	if r.code != exitError {
		t.Fatalf("exit %d", r.code)
	}
	oneErrLine(t, r, "clean-up failed, keys remain under bench/p/: p-del-0 aborted 5 times: key locked")
}

func TestBenchBadArgs(t *testing.T) {
	clearEnv(t)
	for _, args := range [][]string{
		{"bench"},
		{"--coord", "127.0.0.1:1", "bench", "-n", "0"},
		{"--coord", "127.0.0.1:1", "bench", "--protocol", "4PC"},
		{"--coord", "127.0.0.1:1", "bench", "--prefix", "a/b"},
	} {
		if r := txcli(t, noDial(t), args...); r.code != 2 || r.errOut == "" {
			t.Errorf("%v: exit %d stderr %q, want 2 and a message", args, r.code, r.errOut)
		}
	}
}

// A coordinator that goes away (SIGTERM) mid-run: bench stops at once
// with a clear error instead of firing at the lost connection, and the
// failed transactions count in no latency (p50 is not 0 µs).
func TestBenchStopsOnLostConnection(t *testing.T) {
	clearEnv(t)
	var calls atomic.Int64
	fc := &fakeCluster{nodes: map[string]*fakeNode{"127.0.0.1:1": {
		hello: coordHello(),
		start: func(ctx context.Context, txid string, proto wire.Protocol, ops []wire.Op) (*wire.StartResult, error) {
			if n := calls.Add(1); n > 20 {
				return nil, fmt.Errorf("%w: 127.0.0.1:1: EOF", transport.ErrConnectionLost)
			}
			time.Sleep(time.Millisecond) // a latency that shows
			return &wire.StartResult{TxID: txid, Protocol: proto, Outcome: wire.StateCommitted}, nil
		},
	}}}
	r := txcli(t, fc.dial, "--coord", "127.0.0.1:1", "bench", "--json", "-n", "1000", "-c", "2", "--prefix", "x")
	if r.code != exitError || !strings.Contains(r.errOut, "connection to the coordinator at 127.0.0.1:1 was lost") {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}
	if n := calls.Load(); n > 22 {
		t.Errorf("%d transactions sent after the connection was lost", n-20)
	}
	m := decodeJSON(t, r.out)
	lat := m["latency_us"].(map[string]any)
	if m["committed"].(float64) != 20 || lat["p50"].(float64) < 1000 {
		t.Errorf("committed %v, p50 %v µs: failed transactions counted in the latency: %s", m["committed"], lat["p50"], r.out)
	}
}
