package main

// Reads against real processes (conventions: helpers_test.go): a store
// larger than a status carries still answers status, and is read with
// txcli get and scan; bench leaves no keys behind.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
)

// readKeys is more keys than a status carries inline.
const readKeys = wire.MaxStatusInlineKeys + 500

func readKey(i int) string   { return fmt.Sprintf("r/%04d", i) }
func readValue(i int) string { return fmt.Sprintf("v%d", i*i) }

// txcliJSON runs txcli, wants exit code, and decodes its stdout into v.
func txcliJSON(t *testing.T, c *cluster.Cluster, code int, v any, args ...string) {
	t.Helper()
	r := c.Txcli(append([]string{"--timeout", "5s", "--json"}, args...)...)
	if r.Code != code {
		t.Fatalf("want exit %d; got %v", code, r)
	}
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%v", err, r)
	}
}

func TestReadsOfALargeStore(t *testing.T) {
	c := startCluster(t, cluster.Config{})
	for from := 0; from < readKeys; from += wire.MaxOps {
		var ops []string
		for i := from; i < min(readKeys, from+wire.MaxOps); i++ {
			ops = append(ops, "SET", readKey(i), readValue(i))
		}
		commit(t, c, fmt.Sprintf("R%d", from), ops...)
	}
	b := c.Part("B").Addr()

	// Status answers, with the count and without the store.
	var st struct {
		Store     map[string]string `json:"store"`
		Keys      int               `json:"keys"`
		Truncated bool              `json:"store_truncated"`
	}
	// The commit's outcome is known once B's COMMIT is durable; the
	// store is applied right after: poll.
	cluster.Eventually(t, waitTimeout, "B reports every key", func() error {
		txcliJSON(t, c, 0, &st, "--participant", b, "status")
		if st.Keys != readKeys || !st.Truncated || st.Store == nil || len(st.Store) != 0 {
			return fmt.Errorf("status: %d keys, truncated %v, %d inline", st.Keys, st.Truncated, len(st.Store))
		}
		return nil
	})
	var coord struct {
		Participants []struct {
			ID        string `json:"id"`
			Keys      int    `json:"keys"`
			Reachable bool   `json:"reachable"`
		} `json:"participants"`
	}
	txcliJSON(t, c, 0, &coord, "--coord", c.Coord.Addr(), "status")
	for _, p := range coord.Participants {
		if !p.Reachable || p.Keys != readKeys {
			t.Errorf("cluster view: participant %s reachable %v with %d keys, want %d", p.ID, p.Reachable, p.Keys, readKeys)
		}
	}
	if r := c.Txcli("--timeout", "5s", "--participant", b, "status"); r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("%d keys", readKeys)) || !strings.Contains(r.Stdout, "scan") {
		t.Errorf("status table: %v", r)
	}

	// Scan reads them all, in order, over several pages.
	var scan struct {
		Keys []struct{ Key, Value string } `json:"keys"`
		More bool                          `json:"more"`
	}
	txcliJSON(t, c, 0, &scan, "--participant", b, "scan", "--prefix", "r/", "--limit", "0")
	if len(scan.Keys) != readKeys || scan.More {
		t.Fatalf("scan --limit 0: %d keys (more %v), want %d", len(scan.Keys), scan.More, readKeys)
	}
	for i, e := range scan.Keys {
		if e.Key != readKey(i) || e.Value != readValue(i) {
			t.Fatalf("scan entry %d: %s=%s, want %s=%s", i, e.Key, e.Value, readKey(i), readValue(i))
		}
	}

	// Get: values, and a missing key exits 1.
	var get struct {
		Keys    map[string]string `json:"keys"`
		Missing []string          `json:"missing"`
	}
	txcliJSON(t, c, 1, &get, "--participant", c.Part("C").Addr(), "get", readKey(7), "nope", readKey(readKeys-1))
	if len(get.Keys) != 2 || get.Keys[readKey(7)] != readValue(7) || get.Keys[readKey(readKeys-1)] != readValue(readKeys-1) ||
		len(get.Missing) != 1 || get.Missing[0] != "nope" {
		t.Errorf("get: %+v", get)
	}

	// Bench deletes what it wrote, on every participant.
	var bench struct {
		Committed int    `json:"committed"`
		KeyPrefix string `json:"key_prefix"`
		Cleanup   struct {
			Keys int `json:"keys"`
		} `json:"cleanup"`
	}
	txcliJSON(t, c, 0, &bench, "--coord", c.Coord.Addr(), "bench", "-n", "300", "-c", "8", "--prefix", "rb")
	if bench.Committed != 300 || bench.KeyPrefix != "bench/rb/" || bench.Cleanup.Keys != 300 {
		t.Errorf("bench: %+v", bench)
	}
	for _, id := range []string{"B", "C"} {
		txcliJSON(t, c, 0, &scan, "--participant", c.Part(id).Addr(), "scan", "--prefix", "bench/", "--limit", "0")
		if len(scan.Keys) != 0 {
			t.Errorf("%s: bench left %d keys behind, first %s", id, len(scan.Keys), scan.Keys[0].Key)
		}
		txcliJSON(t, c, 0, &st, "--participant", c.Part(id).Addr(), "status")
		if st.Keys != readKeys {
			t.Errorf("%s: %d keys after bench, want %d", id, st.Keys, readKeys)
		}
	}
}
