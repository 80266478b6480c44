package partition

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"

	"github.com/txd/txd/wire"
)

// maxHello bounds the first frame the proxy reads to learn the dialer. A
// Hello is a few dozen bytes; a longer first frame is not one (a TLS
// ClientHello read as a length is far larger).
const maxHello = 4 << 10

// readHello reads the connection's first frame and returns its bytes,
// unchanged, and the dialer's node id if the frame is a wire.Hello ("" if
// not). err is set when the first frame could not be read whole; first
// then holds what was read, to be forwarded as it is.
func readHello(c net.Conn) (first []byte, from string, err error) {
	hdr := make([]byte, wire.HeaderLen)
	n, err := io.ReadFull(c, hdr)
	if err != nil {
		return hdr[:n], "", err
	}
	size := binary.BigEndian.Uint32(hdr)
	if size == 0 || size > maxHello {
		return hdr, "", nil
	}
	frame := make([]byte, wire.HeaderLen+int(size))
	copy(frame, hdr)
	n, err = io.ReadFull(c, frame[wire.HeaderLen:])
	if err != nil {
		return frame[:wire.HeaderLen+n], "", err
	}
	m, derr := wire.ReadFrameFor(bufio.NewReader(bytes.NewReader(frame)), maxHello, true)
	if h, ok := m.(*wire.Hello); ok && derr == nil {
		return frame, h.NodeID, nil
	}
	return frame, "", nil
}
