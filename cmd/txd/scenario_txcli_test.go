package main

// txcli's errors against real processes (conventions: helpers_test.go): bad
// arguments and an unreachable coordinator exit 2 and run nothing.

import (
	"context"
	"strings"
	"testing"

	"github.com/txd/txd/cmd/internal/cluster"
)

// txcli's argument errors and an unreachable coordinator exit 2 with a
// message, and run nothing.
func TestTxcliErrors(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	down, err := cluster.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	coord := c.Coord.Addr()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown protocol", []string{"--coord", coord, "start", "E1", "4PC", "SET", "k", "v"}, `unknown protocol "4PC"`},
		{"unknown operation", []string{"--coord", coord, "start", "E2", "2PC", "MUL", "k", "2"}, `unknown operation "MUL"`},
		{"bad number", []string{"--coord", coord, "start", "E3", "2PC", "B:ADD", "balance", "ten"}, `delta "ten" is not a 64-bit integer`},
		{"missing operations", []string{"--coord", coord, "start", "E4", "2PC"}, "missing operations"},
		{"value over the limit", []string{"--coord", coord, "start", "E5", "2PC", "SET", "k", strings.Repeat("v", 64<<10+1)}, "at most 65536 (64 KiB) per value"},
		{"unknown participant", []string{"--coord", coord, "start", "E6", "2PC", "X:SET", "k", "v"}, `unknown participant "X"`},
		{"coordinator unreachable", []string{"--timeout", "5s", "--coord", down, "start", "E7", "2PC", "SET", "k", "v"}, "cannot reach coordinator at " + down},
		{"coordinator unreachable, status", []string{"--timeout", "5s", "--coord", down, "status"}, "cannot reach coordinator at " + down},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Bins.Txcli(context.Background(), tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != 2 {
				t.Errorf("want exit 2; got %v", r)
			}
			if r.Stdout != "" {
				t.Errorf("stdout without --json: %q", r.Stdout)
			}
			msg := strings.TrimSpace(r.Stderr)
			if !strings.HasPrefix(msg, "txcli: ") || strings.Contains(msg, "\n") || !strings.Contains(msg, tt.want) {
				t.Errorf("want one stderr line \"txcli: ...%s...\"; got %q", tt.want, r.Stderr)
			}
		})
	}

	// With --json the unreachable coordinator is also reported on stdout.
	out, r, err := c.Bins.StartTx(context.Background(), down, "E8", "2PC", "SET", "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 2 || out.ID != "E8" || !strings.Contains(out.Error, "cannot reach coordinator") {
		t.Errorf("--json, unreachable: want exit 2 and an error in the JSON; got %v", r)
	}

	st := c.MustCoordStatus()
	if len(st.Transactions) != 0 {
		t.Errorf("the coordinator ran transactions: %+v", st.Transactions)
	}
	for _, id := range []string{"B", "C"} {
		if p := c.MustPartStatus(id); len(p.Store) != 0 || len(p.Transactions) != 0 {
			t.Errorf("%s changed: store %v, transactions %+v", id, p.Store, p.Transactions)
		}
	}
}
