package protocol

import (
	"strings"
	"testing"

	"github.com/txd/txd/wire"
)

// A NO vote's reason quoted the offending value whole: an ADD on a 200 KB
// value aborted with a 200 KB reason, kept with the outcome in memory,
// logged in both WALs and sent in every ABORT. Reasons are cut to
// wire.MaxReasonLen where they are made.

// bigValue is a value no ADD can parse, larger than any reason may be.
var bigValue = strings.Repeat("NOTANUMBER-", 200<<10/11)

func checkReason(t *testing.T, what, r string) {
	t.Helper()
	if r == "" || len(r) > wire.MaxReasonLen {
		t.Fatalf("%s: reason of %d bytes (at most %d): %.80q", what, len(r), wire.MaxReasonLen, r)
	}
}

// TestParticipantNoReasonBounded: the participant's NO vote, its ABORT
// record and its status carry a short reason that still says why.
func TestParticipantNoReasonBounded(t *testing.T) {
	p := newPart(t, map[string]string{"k": bigValue})
	effs := p.Prepare(prepareMsg("TX1", add("k", 1)))
	if len(effs) != 2 || len(persists(effs)) != 1 || len(sends(effs)) != 1 {
		t.Fatalf("Prepare: effects %q", kinds(effs))
	}
	rec := effs[0].(Persist).Rec
	checkReason(t, "ABORT record", rec.Reason)
	vote := sends(effs)[0].Msg.(*wire.Vote)
	checkReason(t, "vote", vote.Reason)
	if !strings.Contains(vote.Reason, "is not an integer") || !strings.Contains(vote.Reason, "NOTANUMBER-") {
		t.Fatalf("the reason no longer says why: %q", vote.Reason)
	}
	_, txs := p.Status()
	if len(txs) != 1 {
		t.Fatalf("status: %+v", txs)
	}
	checkReason(t, "status", txs[0].Reason)

	// An ABORT whose reason is long (a coordinator of an older version, or
	// a hostile one) is kept short too.
	effs = p.Decision(coordID, abortMsg("TX2", bigValue))
	checkReason(t, "ABORT of an unknown transaction", persists(effs)[0].Rec.Reason)
	prepared(t, p, "TX3", set("j", "1"))
	effs = p.Decision(coordID, abortMsg("TX3", bigValue))
	checkReason(t, "ABORT of a READY transaction", persists(effs)[0].Rec.Reason)
}

// TestCoordAbortReasonBounded: the coordinator's DECISION record, its
// status and the ABORT it sends carry a short reason, however long the
// vote's was.
func TestCoordAbortReasonBounded(t *testing.T) {
	c := newCoord(t, 0, abc...)
	c.Start()
	effs := c.Vote(no("B", "ADD k: value "+bigValue+" is not an integer"))
	rec := decision(t, effs)
	checkReason(t, "DECISION record", rec.Reason)
	if !strings.HasPrefix(rec.Reason, "B: ADD k: value NOTANUMBER-") || !strings.HasSuffix(rec.Reason, "…") {
		t.Fatalf("reason %q: want the vote's start, cut with an ellipsis", rec.Reason)
	}
	effs = c.Logged(rec)
	for _, s := range sends(effs) {
		if d, ok := s.Msg.(*wire.Decision); ok {
			checkReason(t, "ABORT to "+s.To, d.Reason)
		}
	}
	if _, _, reason := c.Decided(); len(reason) > wire.MaxReasonLen {
		t.Fatalf("decided with a reason of %d bytes", len(reason))
	}
	checkReason(t, "status", c.Status().Reason)
}
