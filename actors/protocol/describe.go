package protocol

import (
	"fmt"
	"strings"

	"github.com/txd/txd/wire"
)

// Describe is a one-line summary of a protocol message, for traces and
// test transcripts: its kind, transaction and the part that matters
// ("VOTE-NO TX1 (why)", "ACK TX1 COMMITTED").
func Describe(m wire.Message) string {
	switch m := m.(type) {
	case *wire.Prepare:
		return "PREPARE " + m.TxID
	case *wire.Vote:
		if m.Yes {
			return "VOTE-YES " + m.TxID
		}
		return "VOTE-NO " + m.TxID + " (" + m.Reason + ")"
	case *wire.Decision:
		if m.Commit {
			return "COMMIT " + m.TxID
		}
		return "ABORT " + m.TxID
	case *wire.Ack:
		return "ACK " + m.TxID + " " + string(m.State)
	case *wire.Query:
		return "QUERY " + m.TxID
	case *wire.QueryReply:
		return "QUERY-REPLY " + m.TxID + " " + string(m.State)
	case *wire.PreCommit:
		return "PRECOMMIT " + m.TxID
	case *wire.StartResult:
		return fmt.Sprintf("RESULT#%d %s %s", m.ReqID, m.TxID, m.Outcome)
	case *wire.Error:
		return fmt.Sprintf("ERROR#%d %s", m.ReqID, m.Code)
	case *wire.Forget:
		return "FORGET " + strings.Join(m.TxIDs, ",")
	}
	return fmt.Sprintf("%T", m)
}

// Kinds summarises effects as short strings, one an effect, for exact
// comparisons in tests and for transcripts.
func Kinds(effs []Effect) []string {
	out := make([]string, 0, len(effs))
	for _, e := range effs {
		out = append(out, describeEffect(e))
	}
	return out
}

func describeEffect(e Effect) string {
	switch e := e.(type) {
	case Send:
		return "send " + e.To + " " + Describe(e.Msg)
	case Persist:
		f := "lazy"
		if e.Force {
			f = "forced"
		}
		return fmt.Sprintf("persist %s %s %s", f, e.Rec.Kind, e.Rec.TxID)
	case SetTimer:
		switch e.Kind {
		case TimerResend:
			return fmt.Sprintf("resend-timer %s #%d", e.TxID, e.Seq)
		case TimerForget:
			return "forget-timer"
		}
		return fmt.Sprintf("timer %s #%d", e.TxID, e.Seq)
	case Answer:
		return fmt.Sprintf("answer %s %s", e.Peer, Describe(e.Msg))
	case Contradiction:
		return fmt.Sprintf("contradiction %s %s %s", e.TxID, e.Member, e.State)
	case Reply:
		return fmt.Sprintf("reply %s %s", e.TxID, e.Outcome)
	case Finished:
		return "finished " + e.TxID
	case Refused:
		return fmt.Sprintf("refused %s %s %s", e.From, e.Type, e.TxID)
	}
	return fmt.Sprintf("%T", e)
}
