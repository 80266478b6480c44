package transport

import "sync/atomic"

// Stats counts what connections send. One Stats is shared by all of a
// node's connections; it is safe for concurrent use.
type Stats struct {
	FramesOut atomic.Int64 // frames written
	BytesOut  atomic.Int64 // bytes written, headers included
	Flushes   atomic.Int64 // buffered writes flushed: about one syscall each
	// Msgs, if set before the first connection, counts messages by type,
	// sent and received (for metrics). Nil costs one pointer check per
	// message.
	Msgs *MsgCounts
}
