package wire

import (
	"errors"
	"reflect"
	"runtime"
	"testing"
)

// allocBytes reports how many bytes f allocates.
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// FuzzCodecMatchesReflection decodes arbitrary bytes as one of the codec
// types (picked by sel) with the generated decoder and, where the input
// is structurally sound, with reflection. The codec must never panic; it
// must accept whatever reflection accepts within the limits (limits.go),
// with the same value (text cut as it cuts it) and the same number of bytes
// read; and whatever it decodes must re-encode to the reflection bytes.
func FuzzCodecMatchesReflection(f *testing.F) {
	for i, typ := range codecTypes {
		for j, v := range values(typ, 3) {
			f.Add(codecEncode(f, v), uint8(i))
			if j > 0 {
				f.Add(reflectEncode(f, v, false), uint8(i)) // the map form
			}
		}
	}
	f.Add([]byte{0x92, 0xa1, 'x', 0xa1, 'A'}, uint8(9))
	f.Add([]byte{0x96, 0xa1, 'x', 0xa1, 'A', 0xc3, 0xa1, 'r', 0x92, 0x81, 0xa1, 'k', 0x90, 0xc0}, uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		typ := codecTypes[int(sel)%len(codecTypes)]
		got, n, err := codecDecode(data, typ)
		// Reflection trusts declared lengths and recurses without limit:
		// only structurally sound input goes to it.
		if CheckMsgpack(data, frameDepth) == nil {
			want, wn, werr := reflectDecode(data, typ)
			if werr == nil && !errors.Is(err, ErrOverLimit) && (err != nil || n != wn || !reflect.DeepEqual(got, capped(want))) {
				t.Fatalf("reflection: %+v (%d bytes); codec: %+v (%d bytes), %v", want, wn, got, n, err)
			}
		}
		if err != nil {
			return
		}
		b := codecEncode(t, got)
		if want := reflectEncode(t, got, true); string(b) != string(want) {
			t.Fatalf("re-encoding %+v:\ncodec      %x\nreflection %x", got, b, want)
		}
		again, _, err := codecDecode(b, typ)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("re-decoding %+v: %+v, %v", got, again, err)
		}
	})
}
