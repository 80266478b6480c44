package walstore

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"
)

// RecordType tells a record's owner how to decode its payload. walstore
// does not interpret it, except that 0 is reserved as invalid: callers
// never pass 0, Write rejects a batch containing it, and replay treats a
// stored type 0 as damage. That makes a run of zero bytes that happens to
// carry a plausible length still fail to parse.
type RecordType uint8

// Record is one entry of the log as seen by the replay callback.
type Record struct {
	Type RecordType
	// Payload is valid only during the replay callback: it may alias a
	// buffer that the next record overwrites. Copy it to keep it.
	Payload []byte
	// Offset is the file offset of the record's header. Rewrite ignores
	// it.
	Offset int64
}

// The record header layout. These are part of the on-disk format.
const (
	headerSize = 8 // length (4 bytes) + crc (4 bytes)
	lengthAt   = 0
	crcAt      = 4

	// unframable is the length AppendRecord writes for a payload larger
	// than any MaxRecord allows. It exceeds every limit, so Write rejects
	// the batch with ErrTooLarge instead of AppendRecord panicking.
	unframable = math.MaxUint32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendRecord encodes one record onto dst (a batch buffer) and returns
// the extended slice. It never fails: a payload that breaks a limit (or a
// type of 0) is caught when the batch is handed to Write, before anything
// reaches the file.
func AppendRecord(dst []byte, t RecordType, payload []byte) []byte {
	if len(payload) > maxRecordLimit {
		// A header with no body: Write stops at the length and reports
		// ErrTooLarge without looking further.
		dst = binary.BigEndian.AppendUint32(dst, unframable)
		return binary.BigEndian.AppendUint32(dst, 0)
	}
	start := len(dst)
	n := 1 + len(payload)
	dst = slices.Grow(dst, headerSize+n)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, 0, 0, 0, 0) // crc, filled in below
	dst = append(dst, byte(t))
	dst = append(dst, payload...)
	sum := crc32.Checksum(dst[start+headerSize:], castagnoli)
	binary.BigEndian.PutUint32(dst[start+crcAt:], sum)
	return dst
}

// parseHeader splits a record header into the body length and checksum.
func parseHeader(h []byte) (n, sum uint32) {
	return binary.BigEndian.Uint32(h[lengthAt:]), binary.BigEndian.Uint32(h[crcAt:])
}
