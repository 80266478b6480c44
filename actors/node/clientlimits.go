package node

import "time"

// ClientLimits bound a node's client connections (every connection that is
// not a known peer's): how many, how long one may stay silent, and what
// they may make the node hold in all. Zero values mean wire's defaults.
type ClientLimits struct {
	// Max: client connections at once (0: derived from the descriptor
	// limit, transport.DefaultLimits; negative: no limit).
	Max int
	// IdleTimeout: a client sending no frame this long is closed (0:
	// transport.DefaultIdleTimeout; negative: never).
	IdleTimeout time.Duration
	// SendBytes and ReadBytes: the node-wide budgets of bytes queued for
	// clients and of large client frames being read (transport.ServerConfig).
	SendBytes int64
	ReadBytes int64
}
