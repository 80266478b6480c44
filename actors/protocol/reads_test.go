package protocol

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

// sizeOf walks s: what MemStore.Size must always equal.
func sizeOf(s map[string]string) StoreSize {
	var z StoreSize
	for k, v := range s {
		z.Keys++
		z.KeyBytes += len(k)
		z.ValueBytes += len(v)
	}
	return z
}

// mem is p's store, a MemStore in these tests.
func mem(p *Participant) *MemStore { return p.store.(*MemStore) }

func summary(t *testing.T, p *Participant, maxKeys, maxBytes int) StoreSummary {
	t.Helper()
	sum, err := p.StoreSummary(maxKeys, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func getKeys(t *testing.T, p *Participant, keys []string, maxBytes int) []wire.GetEntry {
	t.Helper()
	got, err := p.Get(keys, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func scanPage(t *testing.T, p *Participant, prefix, after string, limit, maxBytes int) ([]wire.Entry, bool) {
	t.Helper()
	page, more, err := p.Scan(prefix, after, limit, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return page, more
}

// TestStoreSizeFollowsTheLog: the size the participant keeps equals the
// store's through commits, overwrites, deletes, aborts, a checkpoint's
// replay and a heuristic commit.
func TestStoreSizeFollowsTheLog(t *testing.T) {
	p := newPart(t, map[string]string{"balance": "1000", "note": "hello"})
	check := func(when string) {
		t.Helper()
		if want := sizeOf(mem(p).m); p.store.Size() != want {
			t.Fatalf("%s: size %+v, store's %+v", when, p.store.Size(), want)
		}
	}
	check("seeded")
	run := func(tx string, commit bool, o ...wire.Op) {
		t.Helper()
		for _, e := range p.Prepare(prepareMsg(tx, o...)) {
			if ps, ok := e.(Persist); ok {
				p.Logged(ps.Rec)
			}
		}
		for _, e := range p.Decision(coordID, &wire.Decision{TxID: tx, Commit: commit}) {
			if ps, ok := e.(Persist); ok {
				p.Logged(ps.Rec)
			}
		}
	}
	run("T1", true, wire.Op{Kind: wire.OpSet, Key: "note", Value: "a longer note"}, wire.Op{Kind: wire.OpAdd, Key: "balance", Delta: -1})
	check("overwrite and add")
	run("T2", true, wire.Op{Kind: wire.OpDel, Key: "note"}, wire.Op{Kind: wire.OpDel, Key: "absent"}, wire.Op{Kind: wire.OpSet, Key: "x", Value: ""})
	check("delete")
	run("T3", false, wire.Op{Kind: wire.OpSet, Key: "y", Value: "never"})
	check("abort")
	if mem(p).m["balance"] != "999" || mem(p).m["x"] != "" || len(mem(p).m) != 2 {
		t.Fatalf("store %v", p.store)
	}

	q := NewParticipant(ParticipantConfig{NodeID: "B"})
	for _, r := range p.Snapshot() {
		if err := q.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	if q.store.Size() != p.store.Size() {
		t.Fatalf("replayed checkpoint: size %+v, want %+v", q.store.Size(), p.store.Size())
	}
}

func TestStoreSummary(t *testing.T) {
	p := newPart(t, map[string]string{"a": "1", "bb": "22"})
	got := summary(t, p, 2, 6)
	want := StoreSummary{Keys: 2, KeyBytes: 3, ValueBytes: 3, Store: map[string]string{"a": "1", "bb": "22"}}
	if !maps.Equal(got.Store, want.Store) || got.Keys != 2 || got.KeyBytes != 3 || got.ValueBytes != 3 || got.Truncated {
		t.Fatalf("small store: %+v, want %+v", got, want)
	}
	got.Store["a"] = "changed" // a copy
	if mem(p).m["a"] != "1" {
		t.Fatal("the summary's store is the participant's own")
	}
	for _, lim := range [][2]int{{1, 100}, {100, 5}} {
		got = summary(t, p, lim[0], lim[1])
		if got.Store != nil || !got.Truncated || got.Keys != 2 || got.KeyBytes+got.ValueBytes != 6 {
			t.Errorf("limits %v: %+v, want a summary without the store", lim, got)
		}
	}
}

func TestGet(t *testing.T) {
	p := newPart(t, map[string]string{"a": "1", "b": strings.Repeat("x", 10), "c": ""})
	got := getKeys(t, p, []string{"c", "zz", "a", "a"}, 100)
	want := []wire.GetEntry{{Key: "c", Found: true}, {Key: "zz"}, {Key: "a", Value: "1", Found: true}, {Key: "a", Value: "1", Found: true}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// A page full: the answer stops before the key that would not fit,
	// but always answers one.
	if got := getKeys(t, p, []string{"a", "b", "c"}, 5); len(got) != 1 || got[0].Key != "a" {
		t.Fatalf("5-byte page: %+v", got)
	}
	if got := getKeys(t, p, []string{"b", "a"}, 5); len(got) != 1 || got[0].Value != strings.Repeat("x", 10) {
		t.Fatalf("a key over the page: %+v", got)
	}
	if got := getKeys(t, p, nil, 5); len(got) != 0 {
		t.Fatalf("no keys: %+v", got)
	}
}

// TestScanPages: following pages from After returns every key under the
// prefix once, in order, whatever the page's limit and byte budget.
func TestScanPages(t *testing.T) {
	seed := map[string]string{"other": "o", "bench": "b"}
	var want []string
	for i := range 250 {
		k := fmt.Sprintf("bench/%d", i*7919%1000) // not in insertion order
		seed[k] = strings.Repeat("v", i%13)
		want = append(want, k)
	}
	slices.Sort(want)
	p := newPart(t, seed)
	for _, c := range []struct{ limit, bytes int }{{1, 1 << 20}, {7, 1 << 20}, {1000, 1 << 20}, {1000, 40}, {3, 1}} {
		var got []string
		after, pages := "", 0
		for {
			page, more := scanPage(t, p, "bench/", after, c.limit, c.bytes)
			pages++
			if len(page) == 0 && more {
				t.Fatalf("limit %d: an empty page with more", c.limit)
			}
			used := 0
			for _, e := range page {
				if e.Value != seed[e.Key] {
					t.Fatalf("%s = %q, want %q", e.Key, e.Value, seed[e.Key])
				}
				used += len(e.Key) + len(e.Value)
				got = append(got, e.Key)
			}
			if len(page) > c.limit || len(page) > 1 && used > c.bytes {
				t.Fatalf("limit %d, %d bytes: a page of %d entries, %d bytes", c.limit, c.bytes, len(page), used)
			}
			if !more {
				break
			}
			after = page[len(page)-1].Key
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d, %d bytes: %d keys in %d pages, want %d in order", c.limit, c.bytes, len(got), pages, len(want))
		}
	}
	// Everything, no prefix: other keys too, in order.
	all, more := scanPage(t, p, "", "", 1000, 1<<20)
	if more || len(all) != len(seed) || all[0].Key != "bench" || all[len(all)-1].Key != "other" {
		t.Fatalf("whole store: %d entries (more %v), want %d", len(all), more, len(seed))
	}
	if page, more := scanPage(t, p, "nothing/", "", 10, 1<<20); len(page) != 0 || more {
		t.Fatalf("empty prefix: %v %v", page, more)
	}
	if page, more := scanPage(t, p, "", "other", 10, 1<<20); len(page) != 0 || more {
		t.Fatalf("after the last key: %v %v", page, more)
	}
	if page, more := scanPage(t, p, "", "", 0, 1<<20); page != nil || more {
		t.Fatalf("limit 0: %v %v", page, more)
	}
}
