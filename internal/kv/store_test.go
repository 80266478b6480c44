package kv

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{CacheBytes: 1 << 20, MemTableBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func set(k, v string) Op { return Op{Key: k, Value: v} }
func del(k string) Op    { return Op{Key: k, Del: true} }

func mustApply(t *testing.T, s *Store, seq uint64, ops ...Op) {
	t.Helper()
	if err := s.Apply(seq, ops); err != nil {
		t.Fatalf("apply %d: %v", seq, err)
	}
}

// model is the state a store must show: keys to values, with exact stats.
type model map[string]string

func (m model) apply(ops []Op) {
	for _, op := range ops {
		if op.Del {
			delete(m, op.Key)
		} else {
			m[op.Key] = op.Value
		}
	}
}

func (m model) stats() Stats {
	var st Stats
	for k, v := range m {
		st.Keys++
		st.KeyBytes += int64(len(k))
		st.ValueBytes += int64(len(v))
	}
	return st
}

// check compares every key of s against m, through both Scan and Get.
func (m model) check(t *testing.T, s *Store) {
	t.Helper()
	all := scanAll(t, s, "", 7)
	got := model{}
	for _, kv := range all {
		got[kv.Key] = kv.Value
	}
	if !maps.Equal(got, m) {
		t.Fatalf("store holds %d keys, want %d; %s", len(got), len(m), firstDiff(got, m))
	}
	for k, want := range m {
		v, ok, err := s.Get(k)
		if err != nil || !ok || v != want {
			t.Fatalf("Get(%q) = %q, %v, %v; want %q", k, v, ok, err, want)
		}
	}
	if st := s.Stats(); st != m.stats() {
		t.Fatalf("Stats() = %+v, want %+v", st, m.stats())
	}
}

// firstDiff names the first key, in order, on which got and want differ.
func firstDiff(got, want model) string {
	keys := slices.Sorted(maps.Keys(got))
	keys = slices.Compact(slices.Sorted(slices.Values(append(keys, slices.Collect(maps.Keys(want))...))))
	short := func(v string, ok bool) string {
		if !ok {
			return "absent"
		}
		return fmt.Sprintf("%.20q (%d bytes)", v, len(v))
	}
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		if g != w || gok != wok {
			return fmt.Sprintf("key %q: got %s, want %s", k, short(g, gok), short(w, wok))
		}
	}
	return "no key differs"
}

// scanAll pages through prefix's keys limit at a time.
func scanAll(t *testing.T, s *Store, prefix string, limit int) []KV {
	t.Helper()
	var all []KV
	after := ""
	for {
		page, more, err := s.Scan(prefix, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit || more && len(page) != limit {
			t.Fatalf("page of %d (more %v) for limit %d", len(page), more, limit)
		}
		all = append(all, page...)
		if !more {
			return all
		}
		after = page[len(page)-1].Key
	}
}

func TestApplyGetStats(t *testing.T) {
	s := open(t, t.TempDir())
	m := model{}
	m.check(t, s)
	batches := [][]Op{
		{set("a", "1"), set("b", "22"), set("c", "333")},
		{set("a", "longer"), del("b"), del("missing")},
		{set("d", "x"), del("d"), set("d", "yy"), set("e", ""), set("c", "3")},
		{del("a"), set("a", "back")},
	}
	for i, ops := range batches {
		seq := uint64(10 * (i + 1))
		mustApply(t, s, seq, ops...)
		m.apply(ops)
		m.check(t, s)
		if s.Seq() != seq {
			t.Fatalf("Seq() = %d after applying %d", s.Seq(), seq)
		}
	}
	if _, ok, _ := s.Get("b"); ok {
		t.Fatal("deleted key b is present")
	}
	if v, ok, _ := s.Get("e"); !ok || v != "" {
		t.Fatalf("empty value: Get(e) = %q, %v", v, ok)
	}
	if s.Durable() != 0 {
		t.Fatalf("Durable() = %d before any Sync", s.Durable())
	}
}

func TestScanPrefixAndPaging(t *testing.T) {
	s := open(t, t.TempDir())
	m := model{}
	var ops []Op
	for i := range 50 {
		ops = append(ops, set(fmt.Sprintf("user/%03d", i), strings.Repeat("v", i)))
	}
	ops = append(ops, set("user", "bare"), set("user0", "after the prefix"), set("usea", "before"),
		set("\xff", "max"), set("\xff\xff", "maxer"), set("user/\xff", "high"))
	mustApply(t, s, 1, ops...)
	m.apply(ops)
	m.check(t, s)

	for _, limit := range []int{1, 3, 50, 51, 1000} {
		got := scanAll(t, s, "user/", limit)
		if len(got) != 51 || got[0].Key != "user/000" || got[50].Key != "user/\xff" {
			t.Fatalf("limit %d: %d keys, %q … %q", limit, len(got), got[0].Key, got[len(got)-1].Key)
		}
		if !slices.IsSortedFunc(got, func(a, b KV) int { return strings.Compare(a.Key, b.Key) }) {
			t.Fatalf("limit %d: not in key order", limit)
		}
	}
	page, more, err := s.Scan("user/", "user/047", 10)
	if err != nil || more || len(page) != 3 || page[0].Key != "user/048" {
		t.Fatalf("after user/047: %v, more %v, %v", page, more, err)
	}
	if page, _, _ := s.Scan("\xff", "", 10); len(page) != 2 {
		t.Fatalf("prefix 0xff: %v", page)
	}
	if page, _, _ := s.Scan("nope", "", 10); len(page) != 0 {
		t.Fatalf("prefix with no keys: %v", page)
	}
	// An after beyond every key of the prefix gives an empty last page.
	for _, after := range []string{"user/\xff", "user0", "zzz", "\xff\xff\xff"} {
		if page, more, err := s.Scan("user/", after, 10); err != nil || more || len(page) != 0 {
			t.Fatalf("after %q: %v, more %v, %v", after, page, more, err)
		}
	}
	// An after below the prefix starts at the prefix.
	if page, _, _ := s.Scan("user/", "a", 1); len(page) != 1 || page[0].Key != "user/000" {
		t.Fatalf("after below prefix: %v", page)
	}
}

func TestReopenAfterSyncKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := model{}
	for seq := uint64(1); seq <= 100; seq++ {
		ops := []Op{set(fmt.Sprintf("k%d", seq%37), fmt.Sprint(seq)), del(fmt.Sprintf("k%d", seq%11))}
		mustApply(t, s, seq, ops...)
		m.apply(ops)
	}
	d, err := s.Sync()
	if err != nil || d != 100 || s.Durable() != 100 {
		t.Fatalf("Sync() = %d, %v; Durable() = %d", d, err, s.Durable())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if s.Seq() != 100 || s.Durable() != 100 {
		t.Fatalf("reopened at Seq %d, Durable %d; want 100", s.Seq(), s.Durable())
	}
	m.check(t, s)
	mustApply(t, s, 101, set("after", "reopen"))
	m.apply([]Op{set("after", "reopen")})
	m.check(t, s)
}

func TestBadInputsAreErrors(t *testing.T) {
	s := open(t, t.TempDir())
	mustApply(t, s, 5, set("k", "v"))
	long := strings.Repeat("k", MaxKeyLen+1)
	for name, ops := range map[string][]Op{
		"empty key":      {set("", "v")},
		"empty del key":  {del("")},
		"long key":       {set(long, "v")},
		"huge value":     {set("k", strings.Repeat("v", MaxValueLen+1))},
		"bad op in last": {set("ok", "v"), set("", "v")},
	} {
		if err := s.Apply(6, ops); err == nil {
			t.Errorf("%s: Apply accepted it", name)
		}
	}
	if err := s.Apply(5, []Op{set("k", "again")}); err == nil {
		t.Error("Apply at the current sequence accepted")
	}
	if err := s.Apply(4, []Op{set("k", "older")}); err == nil {
		t.Error("Apply below the current sequence accepted")
	}
	m := model{"k": "v"}
	m.check(t, s)
	if s.Seq() != 5 {
		t.Fatalf("refused batches moved Seq to %d", s.Seq())
	}
	// A value of exactly the limit and a key of exactly the limit are fine.
	mustApply(t, s, 6, set(long[1:], strings.Repeat("v", MaxValueLen)))
	for _, k := range []string{"", long} {
		if _, _, err := s.Get(k); err == nil {
			t.Errorf("Get of a %d-byte key accepted", len(k))
		}
	}
	for _, limit := range []int{0, -1, MaxScanLimit + 1} {
		if _, _, err := s.Scan("", "", limit); err == nil {
			t.Errorf("Scan limit %d accepted", limit)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(7, []Op{set("k", "v")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if _, _, err := s.Get("k"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, _, err := s.Scan("", "", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Scan after Close: %v", err)
	}
	if _, err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// TestOpenTwiceIsLocked: a second Open of an open directory fails with
// ErrLocked.
func TestOpenTwiceIsLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

// TestViewKeepsItsState: a view reads the store as it was when opened,
// whatever is applied after, until it is closed.
func TestViewKeepsItsState(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Apply(1, []Op{{Key: "a", Value: "1"}, {Key: "b", Value: "1"}}); err != nil {
		t.Fatal(err)
	}
	v, err := s.View()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(2, []Op{{Key: "a", Value: "2"}, {Key: "b", Del: true}, {Key: "c", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := v.Get("a"); err != nil || !ok || got != "1" {
		t.Fatalf("view Get(a) = %q %v %v, want 1", got, ok, err)
	}
	page, more, err := v.Scan("", "", 10)
	if err != nil || more || len(page) != 2 || page[0] != (KV{"a", "1"}) || page[1] != (KV{"b", "1"}) {
		t.Fatalf("view Scan = %v %v %v, want a=1 b=1", page, more, err)
	}
	if got, _, _ := s.Get("a"); got != "2" {
		t.Fatalf("store Get(a) = %q, want 2", got)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
