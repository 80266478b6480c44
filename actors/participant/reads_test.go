package participant

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// TestParticipantServesReads: a real participant commits more keys than a
// status carries; its status then sums the store up instead of sending it,
// get and scan read the committed values (not a prepared transaction's),
// and scan's pages, followed, give every key once in order.
func TestParticipantServesReads(t *testing.T) {
	p, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: filepath.Join(t.TempDir(), "B.wal"),
		Timeout: time.Minute, NoSync: true, Fatal: func(err error) { t.Errorf("node stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	coord, r := dialAsCoord(ctx, t, p)
	defer coord.Close()
	members := []wire.Member{{ID: "B", Addr: p.Addr()}}
	keys := wire.MaxStatusInlineKeys + 200
	value := func(i int) string { return strings.Repeat("v", i%50) }
	wantBytes := 0
	for tx := 0; tx*wire.MaxOps < keys; tx++ {
		var ops []wire.Op
		for i := tx * wire.MaxOps; i < min(keys, (tx+1)*wire.MaxOps); i++ {
			k := fmt.Sprintf("k%05d", i)
			ops = append(ops, wire.Op{Kind: wire.OpSet, Key: k, Value: value(i)})
			wantBytes += len(k) + len(value(i))
		}
		commitVia(t, coord, r, p, fmt.Sprintf("T%d", tx), ops...)
	}
	// Prepared, never decided: its write is not read.
	if err := coord.Send(&wire.Prepare{TxID: "TP", Protocol: wire.TwoPC, Coord: "COORD", Members: members,
		Ops: []wire.Op{{Kind: wire.OpSet, Key: "k00001", Value: "uncommitted"}}}); err != nil {
		t.Fatal(err)
	}
	if v := next[*wire.Vote](t, r); !v.Yes {
		t.Fatalf("vote %+v", v)
	}

	cl, err := transport.DialClient(ctx, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// The sizes are the engine's: the last commits count once applied.
	var st *wire.Status
	for {
		if st, err = cl.Status(ctx); err != nil {
			t.Fatal(err)
		}
		if st.Keys == uint64(keys) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !st.StoreTruncated || len(st.Store) != 0 || st.Keys != uint64(keys) || st.KeyBytes+st.ValueBytes != uint64(wantBytes) {
		t.Fatalf("status: truncated %v, %d keys inline, summary %d keys %d+%d bytes; want %d keys, %d bytes",
			st.StoreTruncated, len(st.Store), st.Keys, st.KeyBytes, st.ValueBytes, keys, wantBytes)
	}

	got, err := cl.Get(ctx, []string{"k00001", "nope", "k00049"})
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.GetEntry{{Key: "k00001", Value: value(1), Found: true}, {Key: "nope"}, {Key: "k00049", Value: value(49), Found: true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("get: %+v, want %+v", got, want)
	}
	if _, err := cl.Get(ctx, []string{""}); err == nil || !strings.Contains(err.Error(), "empty key") {
		t.Fatalf("get of an empty key: %v", err)
	}

	after, n, pages := "", 0, 0
	for {
		page, err := cl.Scan(ctx, "k", after, 0)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range page.Entries {
			if k := fmt.Sprintf("k%05d", n); e.Key != k || e.Value != value(n) {
				t.Fatalf("scan entry %d: %q=%q, want %q=%q", n, e.Key, e.Value, k, value(n))
			}
			n++
		}
		if !page.More {
			break
		}
		after = page.Entries[len(page.Entries)-1].Key
	}
	if n != keys || pages != 2 {
		t.Fatalf("scan: %d keys in %d pages, want %d in 2", n, pages, keys)
	}
	page, err := cl.Scan(ctx, "k0000", "", 3)
	if err != nil || len(page.Entries) != 3 || !page.More || page.Entries[2].Key != "k00002" {
		t.Fatalf("scan k0000 limit 3: %+v, %v", page, err)
	}
}
