package transport

import "errors"

// Errors of connections. Match them with errors.Is: most are wrapped with
// detail (which peer, which cause).
var (
	ErrClosed         = errors.New("wire: connection closed")
	ErrQueueFull      = errors.New("wire: send queue full, connection dropped")
	ErrNotConnected   = errors.New("wire: peer not connected")
	ErrConnectionLost = errors.New("wire: connection lost")
)
