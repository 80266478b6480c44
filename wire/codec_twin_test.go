package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/txd/txd/internal/twin"
	"github.com/vmihailenco/msgpack/v5"
)

// The reference the codec tests compare against: a reflection twin of each
// type, a struct built with reflect.StructOf from the type's own fields (so
// it cannot drift from them) that has none of its methods, encoded as an
// array as the as_array tag asks. And random values to feed both.

// codecTypes are the types with generated encoders and decoders.
var codecTypes = []reflect.Type{
	reflect.TypeFor[Op](), reflect.TypeFor[Member](),
	reflect.TypeFor[Hello](), reflect.TypeFor[HelloAck](), reflect.TypeFor[Error](),
	reflect.TypeFor[Start](), reflect.TypeFor[StartResult](), reflect.TypeFor[StatusReq](),
	reflect.TypeFor[Prepare](), reflect.TypeFor[Vote](), reflect.TypeFor[Decision](),
	reflect.TypeFor[Ack](), reflect.TypeFor[Query](), reflect.TypeFor[PreCommit](),
	reflect.TypeFor[QueryReply](),
	reflect.TypeFor[GetEntry](), reflect.TypeFor[GetResult](), reflect.TypeFor[ScanReq](),
	reflect.TypeFor[Entry](), reflect.TypeFor[ScanResult](),
}

// requireAsArray fails unless every struct reachable from t is tagged
// as_array: the twins are encoded with UseArrayEncodedStructs, which is
// the same encoding only if so.
func requireAsArray(t *testing.T, typ reflect.Type) {
	t.Helper()
	switch typ.Kind() {
	case reflect.Struct:
		f, ok := typ.FieldByName("_msgpack")
		if !ok || f.Index[0] != 0 || !strings.Contains(f.Tag.Get("msgpack"), "as_array") {
			t.Fatalf("%s: no leading _msgpack as_array field", typ)
		}
		for i := range typ.NumField() {
			if f := typ.Field(i); f.IsExported() {
				requireAsArray(t, f.Type)
			}
		}
	case reflect.Slice, reflect.Map:
		requireAsArray(t, typ.Elem())
	}
}

// reflectEncode encodes v (a *T) through its reflection twin.
func reflectEncode(t testing.TB, v any, arrays bool) []byte {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	tw := reflect.New(twin.Of(rv.Type()))
	tw.Elem().Set(twin.Convert(rv, tw.Elem().Type()))
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseArrayEncodedStructs(arrays)
	if err := enc.Encode(tw.Interface()); err != nil {
		t.Fatalf("reflection encode %T: %v", v, err)
	}
	return buf.Bytes()
}

// reflectDecode decodes b as a typ through its twin, returning a *typ and
// how many bytes it read.
func reflectDecode(b []byte, typ reflect.Type) (any, int, error) {
	tw := reflect.New(twin.Of(typ))
	r := bytes.NewReader(b)
	if err := msgpack.NewDecoder(r).Decode(tw.Interface()); err != nil {
		return nil, 0, err
	}
	out := reflect.New(typ)
	out.Elem().Set(twin.Convert(tw.Elem(), typ))
	return out.Interface(), len(b) - r.Len(), nil
}

func codecEncode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := v.(msgpack.CustomEncoder).EncodeMsgpack(msgpack.NewEncoder(&buf)); err != nil {
		t.Fatalf("codec encode %T: %v", v, err)
	}
	return buf.Bytes()
}

func codecDecode(b []byte, typ reflect.Type) (any, int, error) {
	p := reflect.New(typ).Interface()
	r := bytes.NewReader(b)
	err := p.(msgpack.CustomDecoder).DecodeMsgpack(msgpack.NewDecoder(r))
	return p, len(b) - r.Len(), err
}

// Strings and integers at the msgpack format's size boundaries.
var (
	edgeLens  = []int{0, 1, 31, 32, 255, 256, 65535, 65536}
	edgeInts  = []int64{0, 1, -1, 127, 128, 255, 256, -32, -33, -128, -129, 65535, 65536, -32768, -32769, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt32, math.MinInt32, math.MinInt32 - 1, math.MaxInt64, math.MinInt64}
	edgeUints = []uint64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, math.MaxUint64}
)

// fill sets v to a random value, biased towards edge cases: nil and empty
// slices, empty and boundary-length strings, boundary integers.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		n := r.IntN(12)
		switch r.IntN(10) {
		case 0:
			n = 0
		case 1:
			n = edgeLens[r.IntN(len(edgeLens)-2)] // the 64K ones are rare below
		}
		if r.IntN(500) == 0 {
			n = edgeLens[len(edgeLens)-2+r.IntN(2)]
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32()) // any bytes: Go strings need not be UTF-8
		}
		v.SetString(string(b))
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int:
		v.SetInt(int64(r.IntN(1 << 20)))
	case reflect.Map:
		if r.IntN(4) == 0 {
			return // nil
		}
		m := reflect.MakeMap(v.Type())
		for range r.IntN(4) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(r, k)
			fill(r, e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Int64:
		if r.IntN(2) == 0 {
			v.SetInt(edgeInts[r.IntN(len(edgeInts))])
		} else {
			v.SetInt(r.Int64() >> r.IntN(64) * int64(1-2*r.IntN(2)))
		}
	case reflect.Uint16, reflect.Uint64:
		if r.IntN(2) == 0 {
			v.SetUint(edgeUints[r.IntN(len(edgeUints))]) // truncated for uint16
		} else {
			v.SetUint(r.Uint64() >> r.IntN(64))
		}
	case reflect.Slice:
		switch k := r.IntN(20); {
		case k < 4: // nil
		case k < 6:
			v.Set(reflect.MakeSlice(v.Type(), 0, r.IntN(2)))
		default:
			n := 1 + r.IntN(4)
			if k == 6 {
				n = 14 + r.IntN(4) // around the fixarray limit
			}
			v.Set(reflect.MakeSlice(v.Type(), n, n))
			for i := range n {
				fill(r, v.Index(i))
			}
		}
	case reflect.Pointer:
		if r.IntN(3) > 0 { // else nil
			v.Set(reflect.New(v.Type().Elem()))
			fill(r, v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	default:
		panic("fill: no case for " + v.Type().String())
	}
}

// values returns edge and random values of typ, each a *typ.
func values(typ reflect.Type, n int) []any {
	r := rand.New(rand.NewPCG(uint64(len(typ.Name())), 42))
	vs := []any{reflect.New(typ).Interface()} // the zero value
	for _, m := range samples() {
		if reflect.TypeOf(m).Elem() == typ {
			vs = append(vs, m)
		}
	}
	for range n {
		p := reflect.New(typ)
		fill(r, p.Elem())
		vs = append(vs, p.Interface())
	}
	return vs
}
