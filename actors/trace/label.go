package trace

import "github.com/txd/txd/wire"

// Label names a protocol message for a trace: constant strings only, so
// recording allocates nothing. txid is the transaction it belongs to ("" for
// messages that are not about one transaction, and for Forget, which names
// many); proto is set when the message says it.
func Label(m wire.Message) (txid, what, detail string, proto wire.Protocol) {
	switch m := m.(type) {
	case *wire.Prepare:
		return m.TxID, "PREPARE", "", m.Protocol
	case *wire.Vote:
		if m.Yes {
			return m.TxID, "VOTE YES", "", m.Protocol
		}
		return m.TxID, "VOTE NO", m.Reason, m.Protocol
	case *wire.Decision:
		if m.Commit {
			return m.TxID, "COMMIT", "", ""
		}
		return m.TxID, "ABORT", m.Reason, ""
	case *wire.PreCommit:
		return m.TxID, "PRE-COMMIT", "", wire.ThreePC
	case *wire.Ack:
		return m.TxID, stateLabel("ACK", m.State), "", ""
	case *wire.Query:
		return m.TxID, "QUERY", "", m.Protocol
	case *wire.QueryReply:
		return m.TxID, stateLabel("REPLY", m.State), "", ""
	case *wire.Start:
		return m.TxID, "START", "", m.Protocol
	case *wire.StartResult:
		return m.TxID, stateLabel("RESULT", m.Outcome), m.Reason, m.Protocol
	}
	return "", "", "", ""
}

// stateLabel is prefix + " " + state, from strings built once.
func stateLabel(prefix string, s wire.State) string {
	if l, ok := stateLabels[prefix][s]; ok {
		return l
	}
	return prefix + " ?"
}

var stateLabels = func() map[string]map[wire.State]string {
	m := map[string]map[wire.State]string{}
	for _, p := range []string{"ACK", "REPLY", "RESULT"} {
		m[p] = map[wire.State]string{wire.StateUnknown: p + " UNKNOWN"}
		for _, s := range []wire.State{wire.StateInit, wire.StateReady, wire.StatePrecommitted, wire.StateCommitted, wire.StateAborted} {
			m[p][s] = p + " " + string(s)
		}
	}
	return m
}()
