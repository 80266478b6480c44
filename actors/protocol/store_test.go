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
		store Store
		ops   []wire.Op
		err   string // substring; "" means accepted
	}{
		{"set new key", Store{}, ops(set("k", "v")), ""},
		{"set number", Store{}, ops(set("balance", "1000")), ""},
		{"set zero", Store{}, ops(set("balance", "0")), ""},
		{"set negative", Store{}, ops(set("balance", "-5")), "balance would be -5"},
		{"set non-number that looks negative", Store{}, ops(set("k", "-x")), ""},
		{"add to missing key counts from 0", Store{}, ops(add("k", 7)), ""},
		{"add to missing key below 0", Store{}, ops(add("k", -1)), "k would be -1"},
		{"add within balance", Store{"balance": "1000"}, ops(add("balance", -1000)), ""},
		{"add below zero", Store{"balance": "100"}, ops(add("balance", -300)), "balance would be -200"},
		{"add to non-integer", Store{"name": "bob"}, ops(add("name", 1)), `ADD name: value "bob" is not an integer`},
		{"add overflow", Store{"n": maxS}, ops(add("n", 1)), "overflows"},
		{"add underflow", Store{"n": minS}, ops(add("n", -1)), "overflows"},
		{"add max to zero", Store{"n": "0"}, ops(add("n", math.MaxInt64)), ""},
		{"sees its own set", Store{"balance": "10"}, ops(set("balance", "500"), add("balance", -400)), ""},
		{"sees its own add", Store{"balance": "100"}, ops(add("balance", -60), add("balance", -60)), "balance would be -20"},
		{"set then add non-integer", Store{}, ops(set("k", "abc"), add("k", 1)), `value "abc" is not an integer`},
		{"del then add counts from 0", Store{"k": "abc"}, ops(del("k"), add("k", 3)), ""},
		{"del then add below zero", Store{"k": "5"}, ops(del("k"), add("k", -1)), "k would be -1"},
		{"del missing key", Store{}, ops(del("k")), ""},
		{"first failure wins", Store{"a": "1"}, ops(add("a", -2), add("b", -3)), "a would be -1"},
		{"unknown kind", Store{}, []wire.Op{{Kind: "MUL", Key: "k"}}, `unknown operation "MUL"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(tc.store)
			err := tc.store.check(tc.ops)
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
		store Store
		ops   []wire.Op
		want  Store
	}{
		{"set", Store{}, ops(set("k", "v")), Store{"k": "v"}},
		{"overwrite", Store{"k": "a"}, ops(set("k", "b")), Store{"k": "b"}},
		{"add to missing", Store{}, ops(add("n", 5)), Store{"n": "5"}},
		{"add", Store{"n": "1000"}, ops(add("n", -100)), Store{"n": "900"}},
		{"del", Store{"k": "v", "x": "y"}, ops(del("k")), Store{"x": "y"}},
		{"sequence", Store{"n": "1"}, ops(set("n", "10"), add("n", 5), del("x"), add("m", -0)), Store{"n": "15", "m": "0"}},
		{"del then add", Store{"n": "9"}, ops(del("n"), add("n", 2)), Store{"n": "2"}},
		{"add to non-integer keeps the value", Store{"n": "x"}, ops(add("n", 1)), Store{"n": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size := sizeOf(tc.store)
			tc.store.apply(tc.ops, &size)
			if !maps.Equal(tc.store, tc.want) {
				t.Fatalf("store = %v, want %v", tc.store, tc.want)
			}
			if want := sizeOf(tc.want); size != want {
				t.Fatalf("size %+v, want %+v", size, want)
			}
		})
	}
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
