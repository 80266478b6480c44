package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// TestCheckMsgpackAcceptsEveryFormat encodes a value using every msgpack
// format family and checks the walker agrees with the encoder.
func TestCheckMsgpackAcceptsEveryFormat(t *testing.T) {
	long := func(n int) string { return string(bytes.Repeat([]byte{'x'}, n)) }
	bigArr := make([]int, 70_000) // array32
	bigMap := make(map[int]bool, 20)
	for i := range 20 {
		bigMap[i] = i%2 == 0
	}
	v := []any{
		nil, true, false,
		0, 127, -1, -32, -33, -200, -40_000, -3_000_000_000,
		200, 60_000, 4_000_000_000, uint64(1) << 63,
		float32(1.5), 2.5,
		"", long(31), long(32), long(300), long(70_000),
		[]byte{}, []byte("bin"), bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{1}, 70_000),
		make([]int, 15), make([]int, 16), bigArr,
		map[string]int{"a": 1}, bigMap,
		msgpack.RawMessage{0xd4, 1, 2}, // fixext1
		msgpack.RawMessage{0xd5, 1, 2, 3},
		msgpack.RawMessage{0xd6, 1, 1, 2, 3, 4},
		msgpack.RawMessage{0xd7, 1, 1, 2, 3, 4, 5, 6, 7, 8},
		msgpack.RawMessage(append([]byte{0xd8, 1}, make([]byte, 16)...)),
		msgpack.RawMessage{0xc7, 3, 1, 'a', 'b', 'c'},          // ext8
		msgpack.RawMessage{0xc8, 0, 2, 1, 'a', 'b'},            // ext16
		msgpack.RawMessage{0xc9, 0, 0, 0, 1, 1, 'a'},           // ext32
		msgpack.RawMessage{0xdf, 0, 0, 0, 1, 0xa1, 'k', 0xc3},  // map32
		msgpack.RawMessage{0xd9, 1, 'a'},                       // str8
		msgpack.RawMessage{0xdb, 0, 0, 0, 2, 'h', 'i'},         // str32
		msgpack.RawMessage{0xc5, 0, 1, 7},                      // bin16
		msgpack.RawMessage{0xd0, 0x80},                         // int8
		msgpack.RawMessage{0xcc, 1},                            // uint8
		msgpack.RawMessage{0xdc, 0, 2, 1, 2},                   // array16
		msgpack.RawMessage{0xde, 0, 1, 1, 2},                   // map16
		msgpack.RawMessage{0xca, 0, 0, 0, 0},                   // float32
		msgpack.RawMessage{0xd3, 0, 0, 0, 0, 0, 0, 0, 0},       // int64
		msgpack.RawMessage{0xcf, 0, 0, 0, 0, 0, 0, 0, 0},       // uint64
		msgpack.RawMessage{0x92, 0x91, 0x90, 0x81, 0x80, 0xa0}, // nested empties
		msgpack.RawMessage{0xc4, 0},                            // empty bin8
		msgpack.RawMessage{0xd9, 0},                            // empty str8
	}
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckMsgpack(b, frameDepth); err != nil {
		t.Fatal(err)
	}
}

func TestCheckMsgpackDepth(t *testing.T) {
	if err := CheckMsgpack(nested(32), 32); err != nil {
		t.Fatalf("depth 32: %v", err)
	}
	if err := CheckMsgpack(nested(33), 32); !errors.Is(err, ErrMalformed) {
		t.Fatalf("depth 33: %v", err)
	}
	// Maps count too: {a: {a: ... nil}}.
	var m []byte
	for range 33 {
		m = append(m, 0x81, 0xa1, 'a')
	}
	m = append(m, 0xc0)
	if err := CheckMsgpack(m, 32); !errors.Is(err, ErrMalformed) {
		t.Fatalf("maps 33 deep: %v", err)
	}
	if err := CheckMsgpack(m[3:], 32); err != nil {
		t.Fatalf("maps 32 deep: %v", err)
	}
	// Depth is nesting, not the number of containers: wide is fine.
	wide := []byte{0xdc, 0, 100}
	for range 100 {
		wide = append(wide, 0x91, 0x90)
	}
	if err := CheckMsgpack(wide, 3); err != nil {
		t.Fatalf("wide: %v", err)
	}
}

func TestCheckMsgpackRejects(t *testing.T) {
	cases := map[string][]byte{
		"empty":                 {},
		"reserved":              {0xc1},
		"trailing":              {0xc0, 0xc0},
		"array short":           {0x92, 0x01},
		"map missing value":     {0x81, 0x01},
		"str longer than input": {0xa5, 'a', 'b'},
		"str8 length cut":       {0xd9},
		"str16 length cut":      {0xda, 0x00},
		"uint32 cut":            {0xce, 0, 0, 0},
		"float64 cut":           {0xcb, 0, 0, 0, 0, 0, 0, 0},
		"fixext16 cut":          {0xd8, 1, 0},
		"ext8 type byte cut":    {0xc7, 0},
		"array16 count lies":    {0xdc, 0x00, 0x03, 0x01, 0x02},
		"map16 count lies":      {0xde, 0x00, 0x02, 0x01, 0x02},
		"array32 bomb":          {0xdd, 0xff, 0xff, 0xff, 0xff},
		"map32 bomb":            {0xdf, 0xff, 0xff, 0xff, 0xff},
		"bin32 bomb":            {0xc6, 0xff, 0xff, 0xff, 0xff},
		"str32 bomb":            {0xdb, 0xff, 0xff, 0xff, 0xff},
		"ext32 bomb":            {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01},
		"bomb after a value":    {0x92, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"deep":                  nested(100_000),
	}
	for name, in := range cases {
		if err := CheckMsgpack(in, frameDepth); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func BenchmarkCheckMsgpack(b *testing.B) {
	m := samples()[6] // Status: maps, nested arrays
	f, _ := AppendFrame(nil, m)
	b.SetBytes(int64(len(f) - 5))
	for b.Loop() {
		if err := CheckMsgpack(f[5:], frameDepth); err != nil {
			b.Fatal(err)
		}
	}
}
