package wire

import "encoding/binary"

// frameDepth is how deeply a frame's payload may nest. Our deepest message
// (Status → []TxStatus → map) nests 3 levels; 32 leaves room to grow.
const frameDepth = 32

// CheckMsgpack walks b, which must hold exactly one msgpack value, without
// allocating by any length the data declares. It exists because the msgpack
// decoder trusts declared lengths (an array32 header claiming 4G elements
// makes it allocate them) and recurses without a depth limit: a hostile
// frame could otherwise kill the process with out-of-memory or a stack
// overflow. It rejects:
//   - a str/bin/ext length larger than the bytes left in b;
//   - an array or map count larger than the bytes left (every element takes
//     at least one byte, so such a count can only be a lie);
//   - nesting deeper than maxDepth;
//   - truncated data, trailing bytes and the reserved byte 0xc1.
func CheckMsgpack(b []byte, maxDepth int) error {
	// left[k] is how many values the k-th open container still holds;
	// left[0] stands for the single top-level value. A fixed array keeps
	// the common case free of allocation.
	var buf [depthStack]uint64
	left := append(buf[:0], 1)
	i := 0
	for len(left) > 0 {
		top := len(left) - 1
		if left[top] == 0 {
			left = left[:top]
			continue
		}
		left[top]--

		if i >= len(b) {
			return malformed("msgpack truncated at byte %d", i)
		}
		at := i // where this value starts, for error messages
		c := b[i]
		i++
		var (
			skip  uint64 // bytes of payload after the header
			count uint64 // values inside a container
			isCon bool
			n     uint64
			err   error
		)
		switch {
		case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		case c <= 0x8f: // fixmap: key and value per entry
			count, isCon = 2*uint64(c&0x0f), true
		case c <= 0x9f: // fixarray
			count, isCon = uint64(c&0x0f), true
		case c <= 0xbf: // fixstr
			skip = uint64(c & 0x1f)
		default:
			switch c {
			case 0xc0, 0xc2, 0xc3: // nil, false, true
			case 0xc1:
				return malformed("reserved msgpack byte 0xc1 at byte %d", at)
			case 0xc4, 0xd9: // bin8, str8
				n, i, err = readLen(b, i, 1)
				skip = n
			case 0xc5, 0xda: // bin16, str16
				n, i, err = readLen(b, i, 2)
				skip = n
			case 0xc6, 0xdb: // bin32, str32
				n, i, err = readLen(b, i, 4)
				skip = n
			case 0xc7: // ext8: length, then a type byte, then the data
				n, i, err = readLen(b, i, 1)
				skip = n + 1
			case 0xc8: // ext16
				n, i, err = readLen(b, i, 2)
				skip = n + 1
			case 0xc9: // ext32
				n, i, err = readLen(b, i, 4)
				skip = n + 1
			case 0xcc, 0xd0: // uint8, int8
				skip = 1
			case 0xcd, 0xd1: // uint16, int16
				skip = 2
			case 0xca, 0xce, 0xd2: // float32, uint32, int32
				skip = 4
			case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
				skip = 8
			case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1..16, after a type byte
				skip = 1 + 1<<(c-0xd4)
			case 0xdc: // array16
				n, i, err = readLen(b, i, 2)
				count, isCon = n, true
			case 0xdd: // array32
				n, i, err = readLen(b, i, 4)
				count, isCon = n, true
			case 0xde: // map16
				n, i, err = readLen(b, i, 2)
				count, isCon = 2*n, true
			case 0xdf: // map32
				n, i, err = readLen(b, i, 4)
				count, isCon = 2*n, true
			}
		}
		if err != nil {
			return err
		}
		rest := uint64(len(b) - i)
		if skip > rest {
			return malformed("msgpack value at byte %d declares %d bytes, only %d left", at, skip, rest)
		}
		i += int(skip)
		if !isCon {
			continue
		}
		if count > rest {
			return malformed("msgpack container at byte %d declares %d values, only %d bytes left", at, count, rest)
		}
		// len(left) is the depth the new container would sit at.
		if len(left) > maxDepth {
			return malformed("msgpack nested deeper than %d", maxDepth)
		}
		left = append(left, count)
	}
	if i != len(b) {
		return malformed("%d trailing bytes after the msgpack value", len(b)-i)
	}
	return nil
}

// depthStack sizes CheckMsgpack's stack array: enough for frameDepth
// (deeper limits make it spill to the heap, which is fine).
const depthStack = frameDepth + 1

// readLen reads a size-byte big-endian length at b[i:].
func readLen(b []byte, i, size int) (uint64, int, error) {
	if len(b)-i < size {
		return 0, i, malformed("msgpack length truncated at byte %d", i)
	}
	switch size {
	case 1:
		return uint64(b[i]), i + 1, nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b[i:])), i + 2, nil
	}
	return uint64(binary.BigEndian.Uint32(b[i:])), i + 4, nil
}
