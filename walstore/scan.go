package walstore

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// readChunk is how much the scanner reads ahead at once. Replay walks the
// file front to back, so one large read serves many small records.
const readChunk = 256 << 10

// scanner reads a log file through a window that slides forward, so
// replaying a large log does not hold the whole file in memory.
type scanner struct {
	f         *os.File
	path      string
	size      int64 // file size when replay started
	maxRecord int

	buf   []byte // window contents: file bytes [start, start+len(buf))
	start int64
}

// bytes returns file bytes [off, off+n). The slice aliases the window and
// is valid until the next call. Callers have checked off+n <= s.size, and
// n is bounded by headerSize+MaxRecord+1, so a damaged length can never
// size the buffer.
func (s *scanner) bytes(off int64, n int) ([]byte, error) {
	if off >= s.start && off+int64(n) <= s.start+int64(len(s.buf)) {
		i := off - s.start
		return s.buf[i : i+int64(n)], nil
	}
	want := int64(max(n, readChunk))
	want = min(want, s.size-off)
	if int64(cap(s.buf)) < want {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	got, err := s.f.ReadAt(s.buf, off)
	if got < n {
		s.buf, s.start = s.buf[:0], 0
		if err == nil || err == io.EOF {
			// Only another writer could shrink the file, and the
			// lock rules that out; say so rather than guess.
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("walstore: read file %s offset %d: %w", s.path, off, err)
	}
	s.buf, s.start = s.buf[:got], off
	return s.buf[:n], nil
}

// badRecord says why no valid record starts at an offset.
type badRecord uint8

const (
	recordOK badRecord = iota
	badShortHeader
	badZeroLength
	badTooLarge
	badPastEOF
	badChecksum
	badType
)

// recordAt checks whether a valid record starts at off and, if so, returns
// its body (type byte and payload), which aliases the window.
func (s *scanner) recordAt(off int64) (body []byte, why badRecord, err error) {
	if s.size-off < headerSize {
		return nil, badShortHeader, nil
	}
	h, err := s.bytes(off, headerSize)
	if err != nil {
		return nil, 0, err
	}
	n, sum := parseHeader(h)
	switch {
	case n == 0:
		return nil, badZeroLength, nil
	case uint64(n)-1 > uint64(s.maxRecord):
		return nil, badTooLarge, nil
	case int64(n) > s.size-off-headerSize:
		return nil, badPastEOF, nil
	}
	rec, err := s.bytes(off, headerSize+int(n))
	if err != nil {
		return nil, 0, err
	}
	body = rec[headerSize:]
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, badChecksum, nil
	}
	if body[0] == 0 {
		return nil, badType, nil
	}
	return body, recordOK, nil
}

// describe renders why for an error message about the record at off.
func (s *scanner) describe(off int64, why badRecord) string {
	var n uint32
	if why != badShortHeader {
		if h, err := s.bytes(off, headerSize); err == nil {
			n, _ = parseHeader(h)
		}
	}
	switch why {
	case badShortHeader:
		return fmt.Sprintf("partial header (%d bytes before end of file)", s.size-off)
	case badZeroLength:
		return "zero length followed by non-zero data"
	case badTooLarge:
		return fmt.Sprintf("declared payload of %d bytes exceeds limit of %d", uint64(n)-1, s.maxRecord)
	case badPastEOF:
		return fmt.Sprintf("declared length %d runs past end of file at %d", n, s.size)
	case badChecksum:
		return "crc mismatch"
	case badType:
		return "record type 0"
	}
	return "valid record"
}

// nextValid returns the offset of the first valid record that starts
// after off, or -1. A record's length field is non-zero, so a candidate
// must lie within three bytes before a non-zero byte; zero runs (the
// preallocated tail) are skipped a chunk at a time.
func (s *scanner) nextValid(off int64) (int64, error) {
	p := off + 1
	for p+headerSize < s.size {
		nz, err := s.nextNonZero(p)
		if err != nil || nz < 0 {
			return -1, err
		}
		for q := max(p, nz-3); q <= nz; q++ {
			_, why, err := s.recordAt(q)
			if err != nil {
				return -1, err
			}
			if why == recordOK {
				return q, nil
			}
		}
		p = nz + 1
	}
	return -1, nil
}

// zeroBlock is compared against whole blocks, which is much faster than a
// byte loop over megabytes of preallocated tail.
var zeroBlock [4096]byte

// nextNonZero returns the offset of the first non-zero byte at or after
// off, or -1 if the rest of the file is zero.
func (s *scanner) nextNonZero(off int64) (int64, error) {
	for off < s.size {
		b, err := s.bytes(off, int(min(readChunk, s.size-off)))
		if err != nil {
			return -1, err
		}
		if i := firstNonZero(b); i >= 0 {
			return off + int64(i), nil
		}
		off += int64(len(b))
	}
	return -1, nil
}

// lastNonZero returns the offset of the last non-zero byte at or after
// from, or -1. It reads backwards: the tail is usually a long zero run.
func (s *scanner) lastNonZero(from int64) (int64, error) {
	end := s.size
	for end > from {
		start := max(from, end-readChunk)
		b, err := s.bytes(start, int(end-start))
		if err != nil {
			return -1, err
		}
		if i := lastNonZero(b); i >= 0 {
			return start + int64(i), nil
		}
		end = start
	}
	return -1, nil
}

func firstNonZero(b []byte) int {
	for i := 0; i < len(b); i += len(zeroBlock) {
		blk := b[i:min(len(b), i+len(zeroBlock))]
		if bytes.Equal(blk, zeroBlock[:len(blk)]) {
			continue
		}
		for j, c := range blk {
			if c != 0 {
				return i + j
			}
		}
	}
	return -1
}

func lastNonZero(b []byte) int {
	for end := len(b); end > 0; end -= len(zeroBlock) {
		start := max(0, end-len(zeroBlock))
		blk := b[start:end]
		if bytes.Equal(blk, zeroBlock[:len(blk)]) {
			continue
		}
		for j := len(blk) - 1; j >= 0; j-- {
			if blk[j] != 0 {
				return start + j
			}
		}
	}
	return -1
}
