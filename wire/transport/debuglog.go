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
	c.log.Debug("wire: message "+dir, "type", m.Type().String(), "tx", txIDOf(m),
		"peer", c.remote.NodeID, "remote", c.remoteAddr)
}

// txIDOf is the transaction a message is about ("" for none or several).
func txIDOf(m wire.Message) string {
	switch m := m.(type) {
	case *wire.Start:
		return m.TxID
	case *wire.StartResult:
		return m.TxID
	case *wire.Prepare:
		return m.TxID
	case *wire.Vote:
		return m.TxID
	case *wire.Decision:
		return m.TxID
	case *wire.Ack:
		return m.TxID
	case *wire.Query:
		return m.TxID
	case *wire.PreCommit:
		return m.TxID
	case *wire.QueryReply:
		return m.TxID
	case *wire.TraceReq:
		return m.TxID
	case *wire.Trace:
		return m.TxID
	case *wire.Resolve:
		return m.TxID
	case *wire.ResolveResult:
		return m.TxID
	}
	return ""
}
