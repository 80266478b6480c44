package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// DefaultMaxFrame bounds a frame's length (type byte + payload). A status
// report of a busy node is the largest message and stays far below it.
const DefaultMaxFrame = 1 << 20

// HeaderLen is the big-endian uint32 length in front of every frame.
const HeaderLen = 4

// appendWriter lets the msgpack encoder write straight into the caller's
// slice: no intermediate buffer, no copy. WriteByte spares the encoder its
// own one-byte-slice wrapper.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

type frameEncoder struct {
	w   appendWriter
	enc *msgpack.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := new(frameEncoder)
	e.enc = msgpack.NewEncoder(&e.w)
	return e
}}

type frameDecoder struct {
	r   bytes.Reader
	dec *msgpack.Decoder
}

var decoders = sync.Pool{New: func() any {
	d := new(frameDecoder)
	// A bytes.Reader is an io.ByteScanner, so the decoder reads it
	// directly instead of wrapping it in a bufio.Reader of its own.
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}}

// pooledBodyMax bounds the frame bodies kept for reuse, so that one large
// frame does not pin a megabyte in the pool.
const pooledBodyMax = 64 << 10

var bodies = sync.Pool{New: func() any { return new([]byte) }}

// AppendFrame appends m's frame to dst.
func AppendFrame(dst []byte, m Message) ([]byte, error) {
	if m == nil {
		return dst, fmt.Errorf("%w: nil message", ErrUnknownType)
	}
	t := m.Type()
	if !t.known() {
		return dst, fmt.Errorf("%w: %s", ErrUnknownType, t)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, byte(t))

	e := encoders.Get().(*frameEncoder)
	e.w.b = dst
	var err error
	// Hot types have generated codecs (*_codec_gen.go): call them directly,
	// sparing the encoder's per-type cache lookup. Their value receivers
	// cannot take a typed nil; reflection encodes it as nil, as it always has.
	if c, ok := m.(msgpack.CustomEncoder); ok && !reflect.ValueOf(m).IsNil() {
		err = c.EncodeMsgpack(e.enc)
	} else {
		err = e.enc.Encode(m)
	}
	dst = e.w.b
	e.w.b = nil
	encoders.Put(e)
	if err != nil {
		return dst[:start], fmt.Errorf("wire: encode %s: %w", t, err)
	}
	n := len(dst) - start - HeaderLen
	if uint64(n) > math.MaxUint32 {
		return dst[:start], fmt.Errorf("%w: %s of %d bytes", ErrFrameTooLarge, t, n)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, nil
}

// ReadFrame reads one frame from r and decodes it. maxFrame <= 0 means
// DefaultMaxFrame. At a frame boundary a closed stream gives io.EOF; a frame
// cut short gives ErrMalformed wrapping io.ErrUnexpectedEOF.
func ReadFrame(r *bufio.Reader, maxFrame int) (Message, error) {
	return ReadFrameFor(r, maxFrame, false)
}

// ReadFrameFor is ReadFrame for a node (node true) or a client: a node
// refuses the types only a client reads before decoding them.
func ReadFrameFor(r *bufio.Reader, maxFrame int, node bool) (Message, error) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, truncated(err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return nil, malformed("empty frame")
	}
	// Checked before anything is allocated: the length is the peer's word.
	if uint64(n) > uint64(maxFrame) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrFrameTooLarge, n, maxFrame)
	}
	size := int(n)

	// Fast path: the frame fits in r's buffer, so decode it in place.
	if size <= r.Size() {
		b, err := r.Peek(size)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the header promised more
			}
			return nil, truncated(err)
		}
		m, err := decodeBody(b, node)
		r.Discard(size) //nolint:errcheck // Peek guaranteed size bytes
		return m, err
	}

	bp := bodies.Get().(*[]byte)
	b, err := readBody(r, (*bp)[:0], size)
	var m Message
	if err == nil {
		m, err = decodeBody(b, node)
	}
	if cap(b) <= pooledBodyMax {
		*bp = b
		bodies.Put(bp)
	}
	return m, err
}

// readBody reads size bytes into b, growing it only as the bytes arrive (at
// most doubling what has come so far). The length is the peer's word: one
// that promises a megabyte and sends a hundred bytes must cost about a
// hundred bytes, not a megabyte on each of its connections until the frame
// deadline cuts them.
func readBody(r *bufio.Reader, b []byte, size int) ([]byte, error) {
	for len(b) < size {
		chunk := min(size-len(b), max(len(b), r.Size()))
		b = slices.Grow(b, chunk)
		if _, err := io.ReadFull(r, b[len(b):len(b)+chunk]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the header promised more
			}
			return b, truncated(err)
		}
		b = b[:len(b)+chunk]
	}
	return b, nil
}

// truncated maps a read error: a stream that ends inside a frame means the
// frame was cut short.
func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("truncated frame: %w", err)
	}
	return err
}

// decodeBody decodes a type byte and its payload. Decoded strings are
// copies, so b may be reused once it returns. A node refuses what only a
// client reads, unread.
func decodeBody(b []byte, node bool) (Message, error) {
	t := Type(b[0])
	m := New(t)
	if m == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, b[0])
	}
	if node && t.forClient() {
		return nil, malformed("a %s frame, which only a client reads", t)
	}
	if err := CheckMsgpack(b[1:], frameDepth); err != nil {
		return nil, fmt.Errorf("%w (in a %s frame)", err, t)
	}
	d := decoders.Get().(*frameDecoder)
	d.r.Reset(b[1:])
	var err error
	if c, ok := m.(msgpack.CustomDecoder); ok {
		err = c.DecodeMsgpack(d.dec)
	} else {
		err = d.dec.Decode(m)
	}
	d.r.Reset(nil)
	decoders.Put(d)
	if err != nil {
		return nil, malformed("%s: %v", t, err)
	}
	return m, nil
}
