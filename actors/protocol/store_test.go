package protocol

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

func TestStoreCheck(t *testing.T) {
	maxS := strconv.FormatInt(math.MaxInt64, 10)
	minS := strconv.FormatInt(math.MinInt64, 10)
	tests := []struct {
		name  string
		store map[string]string
		ops   []wire.Op
		err   string // substring; "" means accepted
	}{
		{"set new key", map[string]string{}, ops(set("k", "v")), ""},
		{"set number", map[string]string{}, ops(set("balance", "1000")), ""},
		{"set zero", map[string]string{}, ops(set("balance", "0")), ""},
		{"set negative", map[string]string{}, ops(set("balance", "-5")), "balance would be -5"},
		{"set non-number that looks negative", map[string]string{}, ops(set("k", "-x")), ""},
		{"add to missing key counts from 0", map[string]string{}, ops(add("k", 7)), ""},
		{"add to missing key below 0", map[string]string{}, ops(add("k", -1)), "k would be -1"},
		{"add within balance", map[string]string{"balance": "1000"}, ops(add("balance", -1000)), ""},
		{"add below zero", map[string]string{"balance": "100"}, ops(add("balance", -300)), "balance would be -200"},
		{"add to non-integer", map[string]string{"name": "bob"}, ops(add("name", 1)), `ADD name: value "bob" is not an integer`},
		{"add overflow", map[string]string{"n": maxS}, ops(add("n", 1)), "overflows"},
		{"add underflow", map[string]string{"n": minS}, ops(add("n", -1)), "overflows"},
		{"add max to zero", map[string]string{"n": "0"}, ops(add("n", math.MaxInt64)), ""},
		{"sees its own set", map[string]string{"balance": "10"}, ops(set("balance", "500"), add("balance", -400)), ""},
		{"sees its own add", map[string]string{"balance": "100"}, ops(add("balance", -60), add("balance", -60)), "balance would be -20"},
		{"set then add non-integer", map[string]string{}, ops(set("k", "abc"), add("k", 1)), `value "abc" is not an integer`},
		{"del then add counts from 0", map[string]string{"k": "abc"}, ops(del("k"), add("k", 3)), ""},
		{"del then add below zero", map[string]string{"k": "5"}, ops(del("k"), add("k", -1)), "k would be -1"},
		{"del missing key", map[string]string{}, ops(del("k")), ""},
		{"first failure wins", map[string]string{"a": "1"}, ops(add("a", -2), add("b", -3)), "a would be -1"},
		{"unknown kind", map[string]string{}, []wire.Op{{Kind: "MUL", Key: "k"}}, `unknown operation "MUL"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(tc.store)
			_, err := resolve(memOf(tc.store).Get, tc.ops)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("check: %v, want accepted", err)
			case tc.err != "" && err == nil:
				t.Fatalf("check accepted, want %q", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("check: %q, want it to contain %q", err, tc.err)
			}
			if !maps.Equal(before, tc.store) {
				t.Fatalf("check changed the store: %v → %v", before, tc.store)
			}
		})
	}
}

func TestStoreApply(t *testing.T) {
	tests := []struct {
		name  string
		store map[string]string
		ops   []wire.Op
		want  map[string]string
	}{
		{"set", map[string]string{}, ops(set("k", "v")), map[string]string{"k": "v"}},
		{"overwrite", map[string]string{"k": "a"}, ops(set("k", "b")), map[string]string{"k": "b"}},
		{"add to missing", map[string]string{}, ops(add("n", 5)), map[string]string{"n": "5"}},
		{"add", map[string]string{"n": "1000"}, ops(add("n", -100)), map[string]string{"n": "900"}},
		{"del", map[string]string{"k": "v", "x": "y"}, ops(del("k")), map[string]string{"x": "y"}},
		{"sequence", map[string]string{"n": "1"}, ops(set("n", "10"), add("n", 5), del("x"), add("m", -0)), map[string]string{"n": "15", "m": "0"}},
		{"del then add", map[string]string{"n": "9"}, ops(del("n"), add("n", 2)), map[string]string{"n": "2"}},
		{"add to non-integer keeps the value", map[string]string{"n": "x"}, ops(add("n", 1)), map[string]string{"n": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := memOf(tc.store)
			if w, err := resolve(s.Get, tc.ops); err == nil {
				s.Commit(1, w)
			}
			if !maps.Equal(s.m, tc.want) {
				t.Fatalf("store = %v, want %v", s.m, tc.want)
			}
			if want := sizeOf(tc.want); s.Size() != want {
				t.Fatalf("size %+v, want %+v", s.Size(), want)
			}
		})
	}
}

// memOf is a MemStore holding m's keys (a copy).
func memOf(m map[string]string) *MemStore {
	s := NewMemStore()
	for k, v := range m {
		s.put(k, v)
	}
	return s
}

func TestAddInt(t *testing.T) {
	tests := []struct {
		v    string
		d    int64
		want int64
		err  string
	}{
		{"", 0, 0, ""},
		{"", -3, -3, ""},
		{"41", 1, 42, ""},
		{"-5", 5, 0, ""},
		{strconv.FormatInt(math.MaxInt64, 10), 0, math.MaxInt64, ""},
		{strconv.FormatInt(math.MaxInt64, 10), 1, 0, "overflows"},
		{strconv.FormatInt(math.MaxInt64, 10), -1, math.MaxInt64 - 1, ""},
		{strconv.FormatInt(math.MinInt64, 10), -1, 0, "overflows"},
		{strconv.FormatInt(math.MinInt64, 10), math.MaxInt64, -1, ""},
		{"1", math.MaxInt64, 0, "overflows"},
		{"-1", math.MinInt64, 0, "overflows"},
		{"9223372036854775808", 0, 0, "not an integer"},
		{"1.5", 1, 0, "not an integer"},
		{" 1", 1, 0, "not an integer"},
	}
	for _, tc := range tests {
		got, err := addInt(tc.v, tc.d)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("addInt(%q, %d) = %d, %v; want error %q", tc.v, tc.d, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("addInt(%q, %d) = %d, %v; want %d", tc.v, tc.d, got, err, tc.want)
		}
	}
}

func TestKeysOf(t *testing.T) {
	got := keysOf(ops(set("b", "1"), add("a", 1), del("b"), add("c", 2), add("a", 3)))
	if want := []string{"b", "a", "c"}; !slices.Equal(got, want) {
		t.Fatalf("keysOf = %v, want %v", got, want)
	}
	if got := keysOf(nil); len(got) != 0 {
		t.Fatalf("keysOf(nil) = %v", got)
	}
}

func TestRecKindString(t *testing.T) {
	for k, want := range map[RecKind]string{
		RecBegin: "BEGIN", RecDecision: "DECISION", RecEnd: "END", RecPrepared: "PREPARED",
		RecCommit: "COMMIT", RecAbort: "ABORT", RecPreCommit: "PRECOMMIT", 0: "RecKind(?)", 200: "RecKind(?)",
	} {
		if got := k.String(); got != want {
			t.Errorf("RecKind(%d) = %q, want %q", k, got, want)
		}
	}
	// The values are the on-disk format.
	if RecBegin != 1 || RecDecision != 2 || RecEnd != 3 || RecPrepared != 4 || RecCommit != 5 || RecAbort != 6 || RecPreCommit != 7 {
		t.Fatal("record kinds changed value: the log format is broken")
	}
}
