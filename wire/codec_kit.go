package wire

// Building blocks for the generated msgpack codecs (*_codec_gen.go, one
// beside each source file declaring message structs, written by
// internal/codecgen; and protocol.Record's in actors/protocol).
//
// Why not reflection: msgpack's reflection path looks every struct up in a
// sync.Map keyed by (type, tag) and walks fields through reflect.Value; on a
// busy node that was about a quarter of all CPU. The generated codecs call
// the Encoder/Decoder primitives directly.
//
// The contract is the reflection encoding, byte for byte: a struct tagged
// as_array is an array of its fields in declaration order; strings are
// EncodeString, bools EncodeBool, int64/uint64 fields the fixed 9-byte
// EncodeInt64/EncodeUint64 (reflection's default without UseCompactInts), a
// nil slice is nil (0xc0) and an empty one an empty array (0x90). WAL files
// and peers running the reflection codec read and write the same bytes;
// codec_test.go checks it against reflection for random values.

//go:generate go run ../internal/codecgen/cmd

import (
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// maxSkipDepth bounds the nesting of values skipped as unknown (fields from
// a newer version): Skip itself recurses without limit.
const maxSkipDepth = frameDepth

var errSkipDepth = errors.New("msgpack: skipped value nested too deeply")

// DecodeArrayStruct decodes a struct that reflection would encode with the
// as_array tag. fields lists the msgpack field names in declaration order;
// field(i), for i in [0, len(fields)), decodes the i-th of them from d;
// reset zeroes the whole struct.
//
// It accepts everything msgpack's reflection decoder accepts, with the same
// result:
//   - nil or an empty array: the zero value (reset);
//   - an array of len(fields) elements: one per field, in order;
//   - a map from field names to values (the default struct encoding): the
//     named fields are decoded, unknown names skipped, the rest left as they
//     were.
//
// And, where reflection fails with "number of fields has changed", it is
// lenient so that fields can be added later: a shorter array resets the
// struct and fills the fields it has; a longer one fills every field and
// skips the extra elements.
func DecodeArrayStruct(d *msgpack.Decoder, fields []string, reset func(), field func(i int) error) error {
	c, err := d.PeekCode()
	if err != nil {
		return err
	}
	switch {
	case c == msgpcode.Nil:
		reset()
		return d.DecodeNil()
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		return decodeStructMap(d, fields, field)
	}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n < 0 { // an array32 length that overflows int (32-bit platforms)
		return fmt.Errorf("msgpack: array of %d elements", uint32(n))
	}
	if n < len(fields) {
		reset()
	}
	for i := 0; i < n; i++ {
		if err := fieldOrSkip(d, i, len(fields), field); err != nil {
			return err
		}
	}
	return nil
}

// fieldOrSkip decodes field i if it is one of the n known ones, and skips
// the value otherwise.
func fieldOrSkip(d *msgpack.Decoder, i, n int, field func(i int) error) error {
	if i < n {
		return field(i)
	}
	return skipValue(d, 0)
}

// decodeStructMap decodes the map form of a struct, as reflection does.
func decodeStructMap(d *msgpack.Decoder, fields []string, field func(i int) error) error {
	n, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	for k := 0; k < n; k++ {
		name, err := d.DecodeString()
		if err != nil {
			return err
		}
		i := 0
		for i < len(fields) && fields[i] != name {
			i++
		}
		if err := fieldOrSkip(d, i, len(fields), field); err != nil {
			return err
		}
	}
	return nil
}

// skipValue skips one value of any type, refusing nesting deeper than
// maxSkipDepth. Containers are walked here rather than by d.Skip so the
// depth is bounded; the rest has nothing nested and goes to d.Skip.
func skipValue(d *msgpack.Decoder, depth int) error {
	c, err := d.PeekCode()
	if err != nil {
		return err
	}
	var n, per int // n entries of per values each
	switch {
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err = d.DecodeArrayLen()
		per = 1
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err = d.DecodeMapLen()
		per = 2
	default:
		return d.Skip()
	}
	if err != nil {
		return err
	}
	if depth >= maxSkipDepth {
		return errSkipDepth
	}
	// A lying length costs nothing: the loop stops at the end of the data.
	for i := 0; i < n; i++ {
		for j := 0; j < per; j++ {
			if err := skipValue(d, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeString decodes a string into any string type, leaving *p alone on
// error (as reflection does).
func decodeString[S ~string](d *msgpack.Decoder, p *S) error {
	s, err := d.DecodeString()
	if err == nil {
		*p = S(s)
	}
	return err
}

// elemCodec is a slice element type with a generated encoder: *T encodes
// without copying.
type elemCodec[T any] interface {
	*T
	encode(e *msgpack.Encoder) error
}

// EncodeSlice encodes s as reflection does: nil is nil, otherwise an array.
func EncodeSlice[T any, P elemCodec[T]](e *msgpack.Encoder, s []T) error {
	if s == nil {
		return e.EncodeNil()
	}
	if err := e.EncodeArrayLen(len(s)); err != nil {
		return err
	}
	for i := range s {
		if err := P(&s[i]).encode(e); err != nil {
			return err
		}
	}
	return nil
}

// DecodeSlice decodes a slice as reflection does into a zero slice: nil
// gives nil, an empty array a non-nil empty slice. A declared length over
// limit is refused before anything is allocated (limits.go), what naming
// the elements in the error; within it the slice is made at its exact size.
func DecodeSlice[T any, P interface {
	*T
	msgpack.CustomDecoder
}](d *msgpack.Decoder, what string, limit int) ([]T, error) {
	return decodeSliceFunc(d, what, limit, func(p *T) error { return P(p).DecodeMsgpack(d) })
}

// DecodeStrings is DecodeSlice for a slice of strings.
func DecodeStrings(d *msgpack.Decoder, what string, limit int) ([]string, error) {
	return decodeSliceFunc(d, what, limit, func(s *string) error { return decodeString(d, s) })
}

// decodeSliceFunc is DecodeSlice with elem decoding each element in place.
func decodeSliceFunc[T any](d *msgpack.Decoder, what string, limit int, elem func(*T) error) ([]T, error) {
	n, err := decodeArrayLen(d, what, limit)
	if err != nil || n == -1 {
		return nil, err
	}
	s := make([]T, n)
	for i := range s {
		if err := elem(&s[i]); err != nil {
			return nil, err
		}
	}
	return s, nil
}
