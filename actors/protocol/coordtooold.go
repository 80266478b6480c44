package protocol

import (
	"fmt"

	"github.com/txd/txd/wire"
)

// Retries of forgotten ids. The coordinator remembers only a window of
// finished transactions (--keep-outcomes); a client retrying an id older
// than that starts it again. A member that still remembers the id as
// committed votes NO with Known COMMITTED. The new run must not commit (a
// member that forgot the id entirely has just prepared its operations a
// second time), so it aborts; but the id's outcome is COMMITTED, and the
// client must never hear ABORTED for it. It hears "id too old" instead,
// naming the member that remembers, now and on every later retry (the
// TOO-OLD record keeps this across restarts).
//
// A member remembering the id as ABORTED needs nothing special: aborting
// the retry tells the truth.

// tooOldReason is what the client hears for such a retry.
func tooOldReason(id, member string) string {
	return fmt.Sprintf("transaction id %s is too old: %s remembers it COMMITTED by an earlier run whose outcome this coordinator no longer keeps (--keep-outcomes); this retry changed nothing", id, member)
}

// tooOld handles a NO vote saying the member committed an earlier run of
// this id. While voting it decides the abort; while the abort is being
// logged (another member's NO came first) it changes what the client will
// hear. After that the client has been answered already.
func (t *CoordTxn) tooOld(v *wire.Vote) []Effect {
	if t.tooOldRun || (t.phase != phVoting && t.phase != phLogging) || t.commit {
		return nil
	}
	t.tooOldRun = true
	reason := tooOldReason(t.id, v.From)
	eff := []Effect{Persist{Rec: Record{Kind: RecTooOld, TxID: t.id, Protocol: t.protocol, Reason: reason}}}
	if t.phase == phLogging {
		t.reason = reason
		return eff
	}
	return append(eff, t.decide(false, reason)...)
}

// TooOld reports whether this run was aborted as a retry of an id a member
// had committed (the client hears "id too old", not ABORTED).
func (t *CoordTxn) TooOld() bool { return t.tooOldRun }

// tooOldError is a too-old retry's answer: an Error with code too_old,
// never ABORTED.
func tooOldError(reason string) *wire.Error {
	return &wire.Error{Code: wire.ErrTooOld, Msg: reason}
}
