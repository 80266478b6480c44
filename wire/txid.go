package wire

// TxIDOf is the transaction a message is about ("" for none or several).
func TxIDOf(m Message) string {
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
