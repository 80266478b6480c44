package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/txd/txd/internal/twin"
	"github.com/txd/txd/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// Record's generated codec must write exactly the bytes msgpack's
// reflection encoder wrote for it (WAL files outlive binaries) and read them
// back the same. The reference is a reflection twin: a struct built with
// reflect.StructOf from Record's own fields, without its methods, encoded
// as an array as the as_array tag asks. wire/codec_test.go does the same
// for the wire types.

var recordType = reflect.TypeFor[Record]()

func reflectEncode(t testing.TB, r *Record) []byte {
	t.Helper()
	tw := reflect.New(twin.Of(recordType))
	tw.Elem().Set(twin.Convert(reflect.ValueOf(r).Elem(), tw.Elem().Type()))
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseArrayEncodedStructs(true) // what as_array does, for every struct
	if err := enc.Encode(tw.Interface()); err != nil {
		t.Fatalf("reflection encode: %v", err)
	}
	return buf.Bytes()
}

func reflectDecode(b []byte) (*Record, int, error) {
	tw := reflect.New(twin.Of(recordType))
	rd := bytes.NewReader(b)
	if err := msgpack.NewDecoder(rd).Decode(tw.Interface()); err != nil {
		return nil, 0, err
	}
	r := twin.Convert(tw.Elem(), recordType).Interface().(Record)
	return &r, len(b) - rd.Len(), nil
}

func codecEncode(t testing.TB, r *Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r.EncodeMsgpack(msgpack.NewEncoder(&buf)); err != nil {
		t.Fatalf("codec encode: %v", err)
	}
	return buf.Bytes()
}

func codecDecode(b []byte) (*Record, int, error) {
	var r Record
	rd := bytes.NewReader(b)
	err := r.DecodeMsgpack(msgpack.NewDecoder(rd))
	return &r, len(b) - rd.Len(), err
}

// fill sets v to a random value biased towards edge cases. Fields msgpack
// skips (Kind) stay zero: they do not survive a round trip.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		n := []int{0, 1, 5, 31, 32, 255, 256}[r.IntN(7)]
		if r.IntN(300) == 0 {
			n = 65536
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		v.SetString(string(b))
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int64:
		edge := []int64{0, -1, 127, 128, -32, -33, math.MaxInt64, math.MinInt64, math.MaxUint32 + 1}
		if r.IntN(2) == 0 {
			v.SetInt(edge[r.IntN(len(edge))])
		} else {
			v.SetInt(r.Int64() >> r.IntN(64) * int64(1-2*r.IntN(2)))
		}
	case reflect.Uint64:
		edge := []uint64{0, 1, 127, 128, math.MaxUint32 + 1, math.MaxUint64}
		if r.IntN(2) == 0 {
			v.SetUint(edge[r.IntN(len(edge))])
		} else {
			v.SetUint(r.Uint64() >> r.IntN(64))
		}
	case reflect.Slice:
		switch k := r.IntN(10); {
		case k < 2: // nil
		case k < 3:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.IntN(3)
			if k == 3 {
				n = 16
			}
			v.Set(reflect.MakeSlice(v.Type(), n, n))
			for i := range n {
				fill(r, v.Index(i))
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && f.Tag.Get("msgpack") != "-" {
				fill(r, v.Field(i))
			}
		}
	default:
		panic("fill: no case for " + v.Type().String())
	}
}

// cutReason is r with its reason cut as the codec cuts it on decode: the
// one place where it decodes differently from reflection.
func cutReason(r *Record) *Record {
	c := *r
	c.Reason = wire.ShortReason(c.Reason)
	return &c
}

func TestRecordCodecMatchesReflection(t *testing.T) {
	if f, ok := recordType.FieldByName("_msgpack"); !ok || f.Tag.Get("msgpack") != ",as_array" {
		t.Fatal("Record is no longer tagged as_array: the reflection twin is the wrong reference")
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	recs := []*Record{{}, {Ops: []wire.Op{}, Members: []wire.Member{}}, {Ops: make([]wire.Op, maxRecordOps)},
		{Members: make([]wire.Member, wire.MaxMembers)}}
	for range n {
		r := new(Record)
		fill(rnd, reflect.ValueOf(r).Elem())
		recs = append(recs, r)
	}
	for _, r := range recs {
		got, want := codecEncode(t, r), reflectEncode(t, r)
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v:\ncodec      %x\nreflection %x", r, got, want)
		}
		// As the WAL does it: reflection dispatch to the codec, by pointer
		// and by value.
		for _, x := range []any{r, *r} {
			if b, err := msgpack.Marshal(x); err != nil || !bytes.Equal(b, want) {
				t.Fatalf("msgpack.Marshal(%T): %x, %v", x, b, err)
			}
		}
		for name, decode := range map[string]func([]byte) (*Record, int, error){"codec": codecDecode, "reflection": reflectDecode} {
			wantR := r
			if name == "codec" {
				wantR = cutReason(r)
			}
			d, n, err := decode(want)
			if err != nil || n != len(want) || !reflect.DeepEqual(d, wantR) {
				t.Fatalf("%s decode of %x: %+v, %v; want %+v", name, want, d, err, wantR)
			}
		}
		var u Record
		if err := msgpack.Unmarshal(want, &u); err != nil || !reflect.DeepEqual(&u, cutReason(r)) {
			t.Fatalf("msgpack.Unmarshal: %+v, %v", u, err)
		}
	}
}

// TestRecordCodecGolden pins the bytes of the current format (Time, the
// ninth field, added for traces; Seq, the tenth, for the storage engine;
// Digest, the eleventh, for retried ids) and checks that records written
// before Time, Seq or Digest existed (bytes the reflection codec wrote,
// captured then) still decode, with Time and Seq 0 and Digest "": old logs
// replay.
func TestRecordCodecGolden(t *testing.T) {
	prepared := Record{Kind: RecPrepared, TxID: "tx-1", Protocol: wire.ThreePC,
		Ops:   []wire.Op{{Target: "B", Kind: wire.OpAdd, Key: "k", Delta: -5}},
		Coord: "C", CoordAddr: "h:1", Members: []wire.Member{{ID: "B", Addr: "h:2"}}}
	decision := Record{Kind: RecDecision, TxID: "tx-2", Commit: true, Reason: "all yes", Ops: []wire.Op{}, Members: []wire.Member{}}
	timed := decision
	timed.Time = 1700000000123456789
	numbered := timed
	numbered.Kind, numbered.Seq = RecCommit, 1<<40+5
	begun := Record{Kind: RecBegin, TxID: "tx-3", Protocol: wire.TwoPC, Members: []wire.Member{}, Digest: digestText(0x0123456789abcdef)}
	cases := []struct {
		rec  Record
		want string
	}{
		{Record{}, "9ba0a0c2a0c0a0a0c0d30000000000000000cf0000000000000000a0"},
		{prepared, "9ba474782d31a3335043c2a09195a142a3414444a16ba0d3fffffffffffffffba143a3683a319192a142a3683a32d30000000000000000cf0000000000000000a0"},
		{timed, "9ba474782d32a0c3a7616c6c2079657390a0a090d317979cfe3d85cd15cf0000000000000000a0"},
		{numbered, "9ba474782d32a0c3a7616c6c2079657390a0a090d317979cfe3d85cd15cf0000010000000005a0"},
		{begun, "9ba474782d33a3325043c2a0c0a0a090d30000000000000000cf0000000000000000af313233343536373839616263646566"},
	}
	for _, tc := range cases {
		b, err := msgpack.Marshal(&tc.rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != tc.want {
			t.Errorf("%+v:\ngot  %s\nwant %s", tc.rec, got, tc.want)
		}
	}
	old := []struct {
		in   string
		want Record
	}{
		{"98a0a0c2a0c0a0a0c0", Record{}},
		{"98a474782d31a3335043c2a09195a142a3414444a16ba0d3fffffffffffffffba143a3683a319192a142a3683a32", prepared},
		{"98a474782d32a0c3a7616c6c2079657390a0a090", decision},
		{"99a474782d32a0c3a7616c6c2079657390a0a090d317979cfe3d85cd15", timed},
		{"9aa474782d32a0c3a7616c6c2079657390a0a090d317979cfe3d85cd15cf0000010000000005", numbered},
	}
	for _, tc := range old {
		in, _ := hex.DecodeString(tc.in)
		got, n, err := codecDecode(in)
		want := tc.want
		want.Kind = 0 // the log's record type byte, not the payload
		if err != nil || n != len(in) || !reflect.DeepEqual(*got, want) {
			t.Errorf("old record %s: %+v, %v; want %+v", tc.in, got, err, want)
		}
	}
}

// TestRecordCodecDecodeOddities: nil, short and long arrays, the map form,
// wrong types and bombs.
func TestRecordCodecDecodeOddities(t *testing.T) {
	ok := []struct {
		name string
		in   []byte
		want Record
	}{
		{"nil", []byte{0xc0}, Record{}},
		{"empty", []byte{0x90}, Record{}},
		{"short", []byte{0x93, 0xa1, 'x', 0xa3, '2', 'P', 'C', 0xc3}, Record{TxID: "x", Protocol: wire.TwoPC, Commit: true}},
		{"long", []byte{0x9c, 0xa1, 'x', 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x05, 0x07, 0xa1, 'd', 0x91, 0x90}, Record{TxID: "x", Time: 5, Seq: 7, Digest: "d"}},
		{"map", []byte{0x82, 0xa4, 'T', 'x', 'I', 'D', 0xa1, 'x', 0xa4, 'K', 'i', 'n', 'd', 0x05}, Record{TxID: "x"}},
	}
	for _, tc := range ok {
		got, n, err := codecDecode(tc.in)
		if err != nil || n != len(tc.in) || !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("%s: %+v (%d of %d bytes), %v; want %+v", tc.name, got, n, len(tc.in), err, tc.want)
		}
	}
	bad := map[string][]byte{
		"string":        {0xa1, 'x'},
		"int for bool":  {0x93, 0xc0, 0xc0, 0x01},
		"string for op": {0x95, 0xc0, 0xc0, 0xc0, 0xc0, 0x91, 0xa1, 'x'},
		"ops bomb":      {0x95, 0xc0, 0xc0, 0xc0, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0},
		"members bomb":  {0x98, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"extra bomb":    {0x9c, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"deep extra":    append(append([]byte{0x9c, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, bytes.Repeat([]byte{0x91}, 100_000)...), 0xc0),
		"int digest":    {0x9b, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0x01},
		"string time":   {0x99, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xa1, 'x'},
		"string seq":    {0x9a, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xa1, 'x'},
		"truncated":     {0x98, 0xa4, 't'},
		// One over the limits, each element one byte (nil): refused before
		// anything is allocated for them.
		"ops over the limit":     append([]byte{0x95, 0xc0, 0xc0, 0xc0, 0xc0, 0xdc, byte((maxRecordOps + 1) >> 8), byte((maxRecordOps + 1) & 0xff)}, bytes.Repeat([]byte{0xc0}, maxRecordOps+1)...),
		"members over the limit": append([]byte{0x98, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xdc, byte((wire.MaxMembers + 1) >> 8), byte((wire.MaxMembers + 1) & 0xff)}, bytes.Repeat([]byte{0xc0}, wire.MaxMembers+1)...),
	}
	for name, in := range bad {
		allocs := testing.AllocsPerRun(5, func() { codecDecode(in) })
		if got, _, err := codecDecode(in); err == nil || allocs > 50 {
			t.Errorf("%s: %+v, %v, %.0f allocations", name, got, err, allocs)
		}
	}
}

// FuzzRecordDecode: no input panics the codec; where reflection decodes a
// structurally sound input, the codec agrees; whatever the codec decodes
// re-encodes to the reflection bytes.
func FuzzRecordDecode(f *testing.F) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		r := new(Record)
		fill(rnd, reflect.ValueOf(r).Elem())
		f.Add(codecEncode(f, r))
	}
	f.Add([]byte{0x93, 0xa1, 'x', 0xa3, '2', 'P', 'C', 0xc3})
	f.Add([]byte{0x82, 0xa4, 'T', 'x', 'I', 'D', 0xa1, 'x', 0xa4, 'K', 'i', 'n', 'd', 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, n, err := codecDecode(data)
		if wire.CheckMsgpack(data, 32) == nil { // reflection trusts declared lengths
			want, wn, werr := reflectDecode(data)
			if werr == nil && !errors.Is(err, wire.ErrOverLimit) && (err != nil || n != wn || !reflect.DeepEqual(got, cutReason(want))) {
				t.Fatalf("reflection: %+v (%d bytes); codec: %+v (%d bytes), %v", want, wn, got, n, err)
			}
		}
		if err != nil {
			return
		}
		b := codecEncode(t, got)
		if want := reflectEncode(t, got); !bytes.Equal(b, want) {
			t.Fatalf("re-encoding %+v:\ncodec      %x\nreflection %x", got, b, want)
		}
	})
}

// TestSnapshotRecordsDecode: a checkpoint's STORE records hold up to
// storeChunk SETs, more than a transaction's wire.MaxOps: the decoder's
// limit lets them through (a node must replay its own checkpoint).
func TestSnapshotRecordsDecode(t *testing.T) {
	p := NewParticipant(ParticipantConfig{NodeID: "B"})
	for i := range storeChunk + 1 {
		mem(p).put(fmt.Sprintf("k%d", i), "1")
	}
	recs := p.Snapshot()
	if len(recs) != 2 || len(recs[0].Ops) != storeChunk {
		t.Fatalf("snapshot of %d keys: %d records", storeChunk+1, len(recs))
	}
	for _, r := range recs {
		got, _, err := codecDecode(codecEncode(t, &r))
		if err != nil || len(got.Ops) != len(r.Ops) {
			t.Fatalf("STORE record of %d SETs: %d decoded, %v", len(r.Ops), len(got.Ops), err)
		}
	}
}

// TestSnapshotRecordsOfLargeValues: a store of 5 KB and of the largest
// values (the checkpoint that outgrew the log's 16 MiB record
// limit) is checkpointed in records of at most storeChunkBytes and one
// value, which replay to the same store.
func TestSnapshotRecordsOfLargeValues(t *testing.T) {
	for _, size := range []int{5000, wire.MaxValueLen} {
		p := NewParticipant(ParticipantConfig{NodeID: "B"})
		for i := range 8 * storeChunkBytes / size {
			mem(p).put(fmt.Sprintf("k%d", i), strings.Repeat("v", size))
		}
		q := NewParticipant(ParticipantConfig{NodeID: "B"})
		for _, r := range p.Snapshot() {
			if b := len(codecEncode(t, &r)); b > storeChunkBytes+wire.MaxValueLen+64<<10 {
				t.Fatalf("values of %d bytes: a STORE record of %d bytes", size, b)
			}
			if err := q.Replay(r); err != nil {
				t.Fatal(err)
			}
		}
		if !maps.Equal(mem(q).m, mem(p).m) || q.store.Size() != p.store.Size() {
			t.Fatalf("values of %d bytes: replayed %d keys (%+v), want %d (%+v)", size, len(mem(q).m), q.store.Size(), len(mem(p).m), p.store.Size())
		}
	}
}
