package transport

import (
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// directGap: the direct path is taken only by a frame that follows the
// connection's previous direct write by more than this. A connection busier
// than that (many transactions in flight) leaves its frames to the writer,
// which coalesces them into one syscall: there the hand-off is cheap (the
// writer is awake anyway) and the syscalls are not. 20 µs is short enough
// that one client's PREPAREs, which follow the previous transaction's
// decision on the same connection by 30-80 µs, take the direct path, and
// long enough that a busy connection still coalesces (figures:
// docs/decisions.md, "Direct writes after a short quiet gap").
const directGap = 20 * time.Microsecond

// epoch anchors monotonic timestamps (time.Since uses the monotonic clock).
var epoch = time.Now()

// The direct path: a frame sent while nothing is queued or being written,
// on a connection that has been quiet for a moment (directGap), goes to the
// socket from the sender's goroutine, in one non-blocking write
// syscall. It spares the wake-up of the writer goroutine, which on an idle
// machine costs more than the write itself and sits on the critical path of
// every protocol step (measured in bench: docs/performance.md). Under
// load the writer is busy, the direct path is skipped and frames coalesce in
// the queue. It never blocks: what the kernel does not take at
// once is left in c.head for the writer, which writes it before anything
// else. TLS connections have no raw socket to write to and always queue.

// directWriter is the part of a Conn the direct path uses; it is guarded by
// Conn.wmu, which whoever writes to the socket holds.
type directWriter struct {
	raw  syscall.RawConn // nil: no direct path (TLS, pipes)
	fn   func(fd uintptr) bool
	buf  []byte // the frame being written by fn
	n    int    // what fn wrote of it
	err  error  // and the error it got
	head *[]byte
	off  int // head[off:] is still to be written
	// last is when (ns since epoch) the direct path last wrote.
	last atomic.Int64
	// partial counts frames the direct path could only start (tests).
	partial atomic.Int64
}

func (d *directWriter) init(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	d.raw = raw
	d.fn = d.write // bound once: no closure allocation per frame
}

// write makes one write attempt and never asks the poller to wait (it
// returns true whatever happened).
func (d *directWriter) write(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), d.buf)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		d.n, d.err = n, err
		if errors.Is(err, syscall.EAGAIN) {
			d.err = nil
		}
		return true
	}
}

// trySendDirect writes frame *bp on the caller's goroutine if the socket is
// free and nothing is waiting to be written before it. It reports whether
// it took the frame (written whole, or its rest left to the writer).
func (c *Conn) trySendDirect(bp *[]byte) (bool, error) {
	d := &c.direct
	if d.raw == nil || c.pending.Load() != 0 {
		return false, nil
	}
	now := int64(time.Since(epoch))
	if now-d.last.Load() < int64(directGap) || !c.wmu.TryLock() {
		return false, nil
	}
	d.last.Store(now)
	defer c.wmu.Unlock()
	// Re-checked under the lock: the writer decrements pending only after
	// writing, under the lock, so zero here means nothing queued before us
	// is still unwritten.
	if c.pending.Load() != 0 {
		return false, nil
	}
	d.buf, d.n, d.err = *bp, 0, nil
	if err := d.raw.Write(d.fn); err != nil && d.err == nil {
		d.err = err
	}
	n, werr := d.n, d.err
	d.buf = nil
	if werr != nil {
		frames.Put(bp)
		c.fail(lost(werr), false)
		return true, ErrClosed
	}
	if s := c.stats; s != nil {
		s.Flushes.Add(1)
	}
	if n == len(*bp) {
		if s := c.stats; s != nil {
			s.FramesOut.Add(1)
			s.BytesOut.Add(int64(n))
		}
		if cap(*bp) <= pooledFrameMax {
			frames.Put(bp)
		}
		return true, nil
	}
	// The socket buffer is full: the writer finishes this frame first. A
	// nil frame in the queue wakes it (and counts as pending until then).
	// The frame is held whole until its rest is written: it counts whole.
	held := int64(len(*bp))
	if _, ok := c.addQueued(held); !ok {
		c.subQueued(held)
		return true, ErrClosed
	}
	if err := c.chargeSend(held); err != nil {
		c.subQueued(held)
		return true, err // dropped: the client holding the most
	}
	d.head, d.off = bp, n
	d.partial.Add(1)
	c.pending.Add(1)
	select {
	case c.queue <- nil:
	default:
		c.fail(ErrQueueFull, false)
		return true, ErrQueueFull
	}
	return true, nil
}

// writeHead writes the rest of a frame the direct path could not finish.
// The caller holds c.wmu.
func (c *Conn) writeHead(w interface{ Write([]byte) (int, error) }) error {
	d := &c.direct
	if d.head == nil {
		return nil
	}
	bp, off := d.head, d.off
	d.head, d.off = nil, 0
	c.subQueued(int64(len(*bp)))
	if s := c.stats; s != nil {
		s.FramesOut.Add(1)
		s.BytesOut.Add(int64(len(*bp)))
	}
	_, err := w.Write((*bp)[off:])
	if cap(*bp) <= pooledFrameMax {
		frames.Put(bp)
	}
	return err
}
