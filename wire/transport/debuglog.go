package transport

import (
	"context"
	"log/slog"

	"github.com/txd/txd/wire"
)

// logMessage logs one message sent or received, at debug level: with
// --log-level debug a node logs every protocol message it exchanges (the
// issue's "one line per message at debug"). At any other level it costs the
// handler's Enabled check and nothing else.
func (c *Conn) logMessage(dir string, m wire.Message) {
	if !c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	c.log.Debug("wire: message "+dir, "type", m.Type().String(), "tx", wire.TxIDOf(m),
		"peer", c.remote.NodeID, "remote", c.remoteAddr)
}
