package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/txd/txd/wire"
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
			n := calls.Add(1)
			seen <- txid
			if len(ops) != 1 || ops[0].Kind != wire.OpAdd || ops[0].Delta != 1 {
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
