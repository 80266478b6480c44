package wire

import (
	"context"
	"log/slog"
)

// logMessage logs one message sent or received, at debug level: with
// --log-level debug a node logs every protocol message it exchanges (the
// issue's "one line per message at debug"). At any other level it costs the
// handler's Enabled check and nothing else.
func (c *Conn) logMessage(dir string, m Message) {
	if !c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	c.log.Debug("wire: message "+dir, "type", m.Type().String(), "tx", txIDOf(m),
		"peer", c.remote.NodeID, "remote", c.remoteAddr)
}

// txIDOf is the transaction a message is about ("" for none or several).
func txIDOf(m Message) string {
	switch m := m.(type) {
	case *Start:
		return m.TxID
	case *StartResult:
		return m.TxID
	case *Prepare:
		return m.TxID
	case *Vote:
		return m.TxID
	case *Decision:
		return m.TxID
	case *Ack:
		return m.TxID
	case *Query:
		return m.TxID
	case *PreCommit:
		return m.TxID
	case *QueryReply:
		return m.TxID
	case *TraceReq:
		return m.TxID
	case *Trace:
		return m.TxID
	case *Resolve:
		return m.TxID
	case *ResolveResult:
		return m.TxID
	}
	return ""
}
