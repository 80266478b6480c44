package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/txd/txd/internal/twin"
	"github.com/vmihailenco/msgpack/v5"
)

// The generated codecs must produce exactly the bytes msgpack's
// reflection encoder produces, and decode like its reflection decoder; the
// reflection twins they are compared with are in codec_twin_test.go.

// capped returns a copy of v (a pointer to a codec type) with its text
// fields cut as the decoders cut them (limits.go): the one place where the
// codec decodes differently from reflection.
func capped(v any) any {
	p := reflect.New(reflect.TypeOf(v).Elem())
	p.Elem().Set(reflect.ValueOf(v).Elem())
	capText(p.Elem())
	return p.Interface()
}

// capText cuts the text fields of the struct v, and of the structs in its
// slices (copied first: v shares them with the original).
func capText(v reflect.Value) {
	for name, max := range map[string]int{"Reason": MaxReasonLen, "Msg": MaxErrorMsgLen, "Detail": MaxReasonLen} {
		if f := v.FieldByName(name); f.IsValid() && f.Kind() == reflect.String {
			f.SetString(ShortText(f.String(), max))
		}
	}
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.Slice || f.IsNil() || f.Type().Elem().Kind() != reflect.Struct || !v.Type().Field(i).IsExported() {
			continue
		}
		c := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
		reflect.Copy(c, f)
		for j := range c.Len() {
			capText(c.Index(j))
		}
		f.Set(c)
	}
}

// TestRareDecodersMatchReflection: the bounded decoders of the types
// still encoded by reflection (Status and its parts, Forget, Trace,
// ResolveResult, GetReq) decode what reflection wrote as reflection does, text cut.
func TestRareDecodersMatchReflection(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[Status](), reflect.TypeFor[TxStatus](), reflect.TypeFor[PeerStatus](),
		reflect.TypeFor[Forget](), reflect.TypeFor[Trace](), reflect.TypeFor[TraceEvent](), reflect.TypeFor[ResolveResult](), reflect.TypeFor[GetReq]()} {
		for _, v := range values(typ, 300) {
			b, err := msgpack.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			got, n, err := codecDecode(b, typ)
			if err != nil || n != len(b) || !reflect.DeepEqual(got, capped(v)) {
				t.Fatalf("%s %x: %+v (%d of %d bytes), %v; want %+v", typ, b, got, n, len(b), err, capped(v))
			}
		}
	}
}

// checkCompatible is the core check: v encodes to the reflection bytes, and
// those bytes decode to v with both decoders (text cut by the codec's).
func checkCompatible(t *testing.T, v any) {
	t.Helper()
	typ := reflect.TypeOf(v).Elem()
	got, want := codecEncode(t, v), reflectEncode(t, v, true)
	if !bytes.Equal(got, want) {
		t.Fatalf("%T %+v:\ncodec      %x\nreflection %x", v, v, got, want)
	}
	// Through reflection's dispatch too, by pointer and by value (which
	// only a value-receiver encoder can serve).
	for _, x := range []any{v, reflect.ValueOf(v).Elem().Interface()} {
		b, err := msgpack.Marshal(x)
		if err != nil || !bytes.Equal(b, want) {
			t.Fatalf("msgpack.Marshal(%T): %x, %v", x, b, err)
		}
	}
	for name, decode := range map[string]func([]byte, reflect.Type) (any, int, error){
		"codec": codecDecode, "reflection": reflectDecode,
	} {
		wantV := v
		if name == "codec" {
			wantV = capped(v)
		}
		d, n, err := decode(want, typ)
		if err != nil || n != len(want) || !reflect.DeepEqual(d, wantV) {
			t.Fatalf("%s decode of %x: %+v (%d bytes), %v; want %+v", name, want, d, n, err, wantV)
		}
	}
	p := reflect.New(typ).Interface()
	if err := msgpack.Unmarshal(want, p); err != nil || !reflect.DeepEqual(p, capped(v)) {
		t.Fatalf("msgpack.Unmarshal: %+v, %v", p, err)
	}
}

func TestCodecMatchesReflection(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	for _, typ := range codecTypes {
		t.Run(typ.Name(), func(t *testing.T) {
			requireAsArray(t, typ)
			for _, v := range values(typ, n) {
				checkCompatible(t, v)
			}
		})
	}
}

// TestCodecLongSlices crosses the array16 and array32 length boundaries:
// up to the limits a long slice round-trips; beyond them (array32 takes
// more than 65535) it still encodes as reflection does, and decoding
// refuses it.
func TestCodecLongSlices(t *testing.T) {
	for _, n := range []int{15, 16, MaxOps} {
		p := &Prepare{TxID: "t", Ops: make([]Op, n), Members: make([]Member, n)}
		p.Ops[n-1].Key = "last"
		checkCompatible(t, p)
	}
	for _, n := range []int{MaxOps + 1, 65535, 65536} {
		for _, p := range []*Prepare{{Ops: make([]Op, n)}, {Members: make([]Member, n)}} {
			b := codecEncode(t, p)
			if want := reflectEncode(t, p, true); !bytes.Equal(b, want) {
				t.Fatalf("%d elements: codec and reflection encode differently", n)
			}
			if _, _, err := codecDecode(b, reflect.TypeFor[Prepare]()); !errors.Is(err, ErrOverLimit) {
				t.Fatalf("%d elements decoded: %v", n, err)
			}
		}
	}
}

// TestCodecFieldNames: the name lists (used for the map form) are the
// exported fields, in order.
func TestCodecFieldNames(t *testing.T) {
	lists := map[reflect.Type][]string{
		reflect.TypeFor[Op](): opFields, reflect.TypeFor[Member](): memberFields,
		reflect.TypeFor[Hello](): helloFields, reflect.TypeFor[HelloAck](): helloFields,
		reflect.TypeFor[Error](): errorFields, reflect.TypeFor[Start](): startFields,
		reflect.TypeFor[StartResult](): startResultFields, reflect.TypeFor[StatusReq](): statusReqFields,
		reflect.TypeFor[Prepare](): prepareFields, reflect.TypeFor[Vote](): voteFields,
		reflect.TypeFor[Decision](): decisionFields, reflect.TypeFor[Ack](): ackFields,
		reflect.TypeFor[Query](): queryFields, reflect.TypeFor[PreCommit](): preCommitFields,
		reflect.TypeFor[QueryReply](): queryReplyFields,
		reflect.TypeFor[GetEntry]():   getEntryFields, reflect.TypeFor[GetResult](): getResultFields,
		reflect.TypeFor[ScanReq](): scanReqFields, reflect.TypeFor[Entry](): entryFields,
		reflect.TypeFor[ScanResult](): scanResultFields,
	}
	for _, typ := range codecTypes {
		var want []string
		for i := range typ.NumField() {
			if f := typ.Field(i); f.IsExported() {
				want = append(want, f.Name)
			}
		}
		if got := lists[typ]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: field list %q, struct has %q", typ, got, want)
		}
	}
}

// TestCodecGolden pins the bytes the reflection codec wrote before the
// hand-written codecs existed (captured from the previous commit).
func TestCodecGolden(t *testing.T) {
	golden := map[Type]string{
		TypeHello:       "93cd0001a141ab7061727469636970616e74",
		TypeHelloAck:    "93cd0001a5636f6f7264ab636f6f7264696e61746f72",
		TypeError:       "93cf0000000000000007a462757379b5746f6f206d616e79207472616e73616374696f6e73",
		TypeStart:       "94cf0000010000000000a474782d31a33350439395a142a3414444a762616c616e6365a0d3ffffffffffffff9c95a0a3534554a16ba176d3000000000000000095a143a344454ca4676f6e65a0d30000000000000000",
		TypeStartResult: "95cf0000000000000009a474782d31a3325043a741424f52544544aa4220766f746564204e4f",
		TypeStatusReq:   "91cf0000000000000003",
		TypePrepare:     "96a474782d32a33350439395a142a3414444a762616c616e6365a0d3ffffffffffffff9c95a0a3534554a16ba176d3000000000000000095a143a344454ca4676f6e65a0d30000000000000000a5636f6f7264ae3132372e302e302e313a373030309292a141ae3132372e302e302e313a3730303192a142ad31302e302e302e323a37303032",
		TypeVote:        "96a474782d32a141c3a26f6ba0a0", // Known appended (was 94...6b), then Protocol
		TypeDecision:    "93a474782d32c3a7616c6c20796573",
		TypeAck:         "94a474782d32a142a9434f4d4d4954544544c2", // Heuristic appended (was 93...44)
		TypeQuery:       "93a474782d33a143a0",                     // Protocol appended (was 92...43)
		TypePreCommit:   "91a474782d33",
		TypeQueryReply:  "93a474782d33a141a741424f52544544",
	}
	edges := []struct {
		m    Message
		want string
	}{
		{&Vote{}, "96a0a0c2a0a0a0"},
		{&Vote{TxID: "t", From: "B", Reason: "r", Known: StateCommitted}, "96a174a142c2a172a9434f4d4d4954544544a0"},
		{&Vote{TxID: "t", From: "B", Yes: true, Protocol: Parallel}, "96a174a142c3a0a0a8504152414c4c454c"},
		{&Query{TxID: "t", From: "B", Protocol: Parallel}, "93a174a142a8504152414c4c454c"},
		{&Ack{TxID: "t", From: "C", State: StateAborted, Heuristic: true}, "94a174a143a741424f52544544c3"},
		{&Start{}, "94cf0000000000000000a0a0c0"},
		{&Start{Ops: []Op{}}, "94cf0000000000000000a0a090"},
		{&Prepare{Ops: []Op{{}}, Members: []Member{}}, "96a0a09195a0a0a0a0d30000000000000000a0a090"},
		{&Error{ReqID: math.MaxUint64}, "93cfffffffffffffffffa0a0"},
		{&Start{Ops: []Op{{Delta: -1}, {Delta: 1 << 62}}}, "94cf0000000000000000a0a09295a0a0a0a0d3ffffffffffffffff95a0a0a0a0d34000000000000000"},
	}
	for _, m := range samples() {
		if want, ok := golden[m.Type()]; ok {
			edges = append(edges, struct {
				m    Message
				want string
			}{m, want})
		}
	}
	for _, tc := range edges {
		b, err := AppendFrame(nil, tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b[5:]); got != tc.want {
			t.Errorf("%s %+v:\ngot  %s\nwant %s", tc.m.Type(), tc.m, got, tc.want)
		}
	}
}

// TestCodecMapForm: the default (map) struct encoding, which reflection
// accepts for as_array structs too, decodes the same.
func TestCodecMapForm(t *testing.T) {
	for _, typ := range codecTypes {
		for _, v := range values(typ, 50) {
			b := reflectEncode(t, v, false)
			got, n, err := codecDecode(b, typ)
			if err != nil || n != len(b) || !reflect.DeepEqual(got, capped(v)) {
				t.Fatalf("%s map form %x: %+v, %v; want %+v", typ, b, got, err, v)
			}
		}
	}
	// Unknown names are skipped, whatever they hold.
	b := []byte{0x83, 0xa4, 'T', 'x', 'I', 'D', 0xa1, 'x', 0xa3, 'N', 'e', 'w', 0x92, 0x01, 0x81, 0xc0, 0xc0, 0xa3, 'Y', 'e', 's', 0xc3}
	got, n, err := codecDecode(b, reflect.TypeFor[Vote]())
	if err != nil || n != len(b) || !reflect.DeepEqual(got, &Vote{TxID: "x", Yes: true}) {
		t.Fatalf("map with an unknown field: %+v, %v", got, err)
	}
}

// TestCodecArrayLength: nil and empty arrays give the zero value (as with
// reflection); shorter arrays leave the missing fields zero and longer ones
// have their extra elements skipped (where reflection fails), so fields can
// be added later.
func TestCodecArrayLength(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want any
	}{
		{"nil", []byte{0xc0}, &Vote{}},
		{"empty", []byte{0x90}, &Vote{}},
		{"short", []byte{0x92, 0xa1, 'x', 0xa1, 'A'}, &Vote{TxID: "x", From: "A"}},
		{"long", []byte{0x98, 0xa1, 'x', 0xa1, 'A', 0xc3, 0xa1, 'r', 0xa0, 0xa0, 0x92, 0x81, 0xa1, 'k', 0x90, 0xd4, 0x01, 0x02, 0xcb, 1, 2, 3, 4, 5, 6, 7, 8},
			&Vote{TxID: "x", From: "A", Yes: true, Reason: "r"}},
		{"nil elements", []byte{0x94, 0xc0, 0xc0, 0xc0, 0xc0}, &Vote{}},
		{"nil op", []byte{0x96, 0xc0, 0xc0, 0x91, 0xc0, 0xc0, 0xc0, 0xc0}, &Prepare{Ops: []Op{{}}}},
		{"short op", []byte{0x96, 0xc0, 0xc0, 0x91, 0x92, 0xa1, 'B', 0xa3, 'S', 'E', 'T', 0xc0, 0xc0, 0x90},
			&Prepare{Ops: []Op{{Target: "B", Kind: OpSet}}, Members: []Member{}}},
		{"compact ints", []byte{0x94, 0x05, 0xc0, 0xc0, 0xc0}, &Start{ReqID: 5}},
		{"negative fixint as uint", []byte{0x91, 0xff}, &StatusReq{ReqID: math.MaxUint64}},
		{"bin as string", []byte{0x91, 0xc4, 0x01, 'x'}, &PreCommit{TxID: "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			typ := reflect.TypeOf(tc.want).Elem()
			got, n, err := codecDecode(tc.in, typ)
			if err != nil || n != len(tc.in) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v (%d of %d bytes), %v; want %+v", got, n, len(tc.in), err, tc.want)
			}
			// Where reflection decodes it, it agrees.
			if ref, _, err := reflectDecode(tc.in, typ); err == nil && !reflect.DeepEqual(ref, tc.want) {
				t.Fatalf("reflection decodes %+v", ref)
			}
		})
	}
}

// TestCodecRejects: wrong types and damage are errors, never panics.
func TestCodecRejects(t *testing.T) {
	cases := []struct {
		name string
		typ  reflect.Type
		in   []byte
	}{
		{"empty input", reflect.TypeFor[Vote](), nil},
		{"string for struct", reflect.TypeFor[Vote](), []byte{0xa1, 'x'}},
		{"int for struct", reflect.TypeFor[Vote](), []byte{0x01}},
		{"int for string", reflect.TypeFor[Vote](), []byte{0x94, 0x01, 0xc0, 0xc0, 0xc0}},
		{"string for bool", reflect.TypeFor[Vote](), []byte{0x94, 0xc0, 0xc0, 0xa1, 'x', 0xc0}},
		{"string for uint", reflect.TypeFor[StatusReq](), []byte{0x91, 0xa1, '1'}},
		{"float for int", reflect.TypeFor[Op](), []byte{0x95, 0xc0, 0xc0, 0xc0, 0xc0, 0xca, 0, 0, 0, 0}},
		{"map for slice", reflect.TypeFor[Prepare](), []byte{0x96, 0xc0, 0xc0, 0x80, 0xc0, 0xc0, 0xc0}},
		{"string for op", reflect.TypeFor[Start](), []byte{0x94, 0xc0, 0xc0, 0xc0, 0x91, 0xa1, 'x'}},
		{"reserved 0xc1", reflect.TypeFor[Vote](), []byte{0xc1}},
		{"reserved in extra", reflect.TypeFor[PreCommit](), []byte{0x92, 0xa1, 'x', 0xc1}},
		{"truncated string", reflect.TypeFor[Vote](), []byte{0x94, 0xa5, 'x'}},
		{"truncated array", reflect.TypeFor[Vote](), []byte{0x94, 0xa1, 'x'}},
		{"truncated header", reflect.TypeFor[Vote](), []byte{0xdc, 0x00}},
		{"int map key", reflect.TypeFor[Vote](), []byte{0x81, 0x01, 0xc0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, _, err := codecDecode(tc.in, tc.typ); err == nil {
				t.Fatalf("decoded %+v", got)
			}
		})
	}
}

// TestCodecBombs: declared lengths allocate nothing like them, and skipped
// values cannot nest without limit.
func TestCodecBombs(t *testing.T) {
	bombs := map[string][]byte{
		"ops array32":     {0x94, 0xc0, 0xc0, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0},
		"members array16": {0x96, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xdc, 0xff, 0xff},
		"struct array32":  {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0},
		"struct map32":    {0xdf, 0xff, 0xff, 0xff, 0xff},
		"extra array32":   {0x95, 0xc0, 0xc0, 0xc0, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"string str32":    {0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'},
	}
	for name, in := range bombs {
		typ := reflect.TypeFor[Start]()
		if strings.HasPrefix(name, "members") {
			typ = reflect.TypeFor[Prepare]()
		}
		allocs := testing.AllocsPerRun(10, func() { codecDecode(in, typ) })
		var err error
		bytesUsed := allocBytes(func() { _, _, err = codecDecode(in, typ) })
		if err == nil || bytesUsed > 2<<20 || allocs > 50 {
			t.Errorf("%s: err %v, %d bytes in %.0f allocations", name, err, bytesUsed, allocs)
		}
	}
	deep := append([]byte{0x92, 0xa1, 'x'}, bytes.Repeat([]byte{0x91}, 100_000)...)
	deep = append(deep, 0xc0)
	if _, _, err := codecDecode(deep, reflect.TypeFor[PreCommit]()); err != errSkipDepth {
		t.Errorf("deeply nested extra element: %v", err)
	}
}

// TestCodecDecodeIntoUsed: decoding into a value that already holds data
// replaces all of it, as reflection does (for the array form; in the map
// form both leave fields the map does not name).
func TestCodecDecodeIntoUsed(t *testing.T) {
	for _, typ := range codecTypes {
		olds, news := values(typ, 100), values(typ, 101)[1:]
		for i, v := range news {
			old := reflect.ValueOf(olds[i]).Elem()
			for _, in := range [][]byte{codecEncode(t, v), {0xc0}, {0x90}} {
				want := v
				if len(in) == 1 {
					want = reflect.New(typ).Interface()
				}
				p := reflect.New(typ)
				p.Elem().Set(old)
				if err := p.Interface().(msgpack.CustomDecoder).DecodeMsgpack(msgpack.NewDecoder(bytes.NewReader(in))); err != nil || !reflect.DeepEqual(p.Interface(), capped(want)) {
					t.Fatalf("%s: decoding %x over %+v: %+v, %v", typ, in, old, p, err)
				}
				tw := reflect.New(twin.Of(typ))
				tw.Elem().Set(twin.Convert(old, tw.Elem().Type()))
				if err := msgpack.Unmarshal(in, tw.Interface()); err != nil || !reflect.DeepEqual(twin.Convert(tw.Elem(), typ).Interface(), reflect.ValueOf(want).Elem().Interface()) {
					t.Fatalf("%s: reflection decoding %x over %+v: %+v, %v", typ, in, old, tw, err)
				}
			}
		}
	}
	// A short array (which reflection refuses) zeroes what it lacks.
	v := &Vote{TxID: "old", From: "old", Yes: true, Reason: "old"}
	if err := v.DecodeMsgpack(msgpack.NewDecoder(bytes.NewReader([]byte{0x91, 0xa1, 'x'}))); err != nil || *v != (Vote{TxID: "x"}) {
		t.Fatalf("short array over a used Vote: %+v, %v", v, err)
	}
}

// TestAppendFrameTypedNil: a nil *Vote still encodes as msgpack nil (the
// reflection behaviour) rather than panicking in a value-receiver codec.
func TestAppendFrameTypedNil(t *testing.T) {
	b, err := AppendFrame(nil, (*Vote)(nil))
	if err != nil || hex.EncodeToString(b) != "0000000209c0" {
		t.Fatalf("%x, %v", b, err)
	}
}
