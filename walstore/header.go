package walstore

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
)

// The header record is the first record of every log file walstore
// creates (by Open or Rewrite). It carries the file's generation, a random
// number the control file names, so that a log replaced by another file
// (an older copy, another node's log) is told apart from the one the
// control file describes. It uses the record framing and a record type
// reserved for it, so a log from before headers existed, whose first
// record is a caller's, still reads.
const (
	headerType  RecordType = 255
	headerMagic            = "txdwal\x01" // the last byte is the header's version
	// headerLen is the size of the header record in the file.
	headerLen = headerSize + 1 + len(headerMagic) + 8
)

// appendHeader encodes the header record of generation gen onto dst.
func appendHeader(dst []byte, gen uint64) []byte {
	var p [len(headerMagic) + 8]byte
	copy(p[:], headerMagic)
	binary.BigEndian.PutUint64(p[len(headerMagic):], gen)
	return AppendRecord(dst, headerType, p[:])
}

// parseHeaderBody returns the generation in a header record's body (type
// byte and payload); ok is false if the body is not a header.
func parseHeaderBody(body []byte) (gen uint64, ok bool) {
	p := body[1:]
	if RecordType(body[0]) != headerType || len(p) != len(headerMagic)+8 || !bytes.HasPrefix(p, []byte(headerMagic)) {
		return 0, false
	}
	gen = binary.BigEndian.Uint64(p[len(headerMagic):])
	return gen, gen != 0
}

// newGeneration returns a random non-zero generation (0 means "no header").
func newGeneration() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
		if g := binary.BigEndian.Uint64(b[:]); g != 0 {
			return g
		}
	}
}
