package node

import (
	"log/slog"
	"time"

	"github.com/txd/txd/actors/incident"
)

// DefaultDoubtWarn is how long a transaction may stay in doubt before the
// participant logs it: past a few protocol timeouts, the coordinator is not
// just slow.
const DefaultDoubtWarn = 10 * time.Second

// How a transaction in doubt learned its outcome (Doubts.Settled).
type Settlement int

const (
	ByCoordinator Settlement = iota // its decision, or the answer to a query
	ByTermination                   // from a peer, or as the termination leader
	ByOperator                      // a heuristic decision (txcli resolve)
)

// Doubts follows a participant's transactions in doubt (voted YES, outcome
// not known) for its incident log and the oldest-in-doubt metric. It
// belongs to the participant's actor: not safe for concurrent use.
type Doubts struct {
	inc   *incident.Log
	warn  time.Duration
	now   func() time.Time
	since map[string]time.Time
}

// NewDoubts logs to inc a transaction in doubt for longer than warn
// (0: DefaultDoubtWarn).
func NewDoubts(inc *incident.Log, warn time.Duration) *Doubts {
	if warn <= 0 {
		warn = DefaultDoubtWarn
	}
	return &Doubts{inc: inc, warn: warn, now: time.Now, since: map[string]time.Time{}}
}

// Ready records that txid is in doubt since since (the vote, or for a
// transaction the log brought back, its PREPARED record); a transaction
// already in doubt keeps its time.
func (d *Doubts) Ready(txid string, since time.Time) {
	if _, ok := d.since[txid]; !ok {
		d.since[txid] = since
	}
}

// Check logs txid, once, if it has been in doubt longer than the warning
// threshold. The participant calls it whenever the transaction's protocol
// timer fires, which it does every timeout while in doubt.
func (d *Doubts) Check(txid, coord string) {
	since, ok := d.since[txid]
	if !ok {
		return
	}
	if waited := d.now().Sub(since); waited >= d.warn {
		d.inc.Begin("in-doubt/"+txid, slog.LevelWarn, "transaction in doubt: its outcome is not known, its keys stay locked",
			"tx", txid, "coordinator", coord, "in_doubt_for", waited.Round(time.Millisecond))
	}
}

// Settled records that txid's outcome is known (being logged): the end of
// its incident if one was logged, and a line of its own for a decision
// the coordinator did not make.
func (d *Doubts) Settled(txid string, commit bool, reason string, how Settlement) {
	since, ok := d.since[txid]
	if !ok {
		return
	}
	delete(d.since, txid)
	outcome := "ABORTED"
	if commit {
		outcome = "COMMITTED"
	}
	waited := d.now().Sub(since).Round(time.Millisecond)
	d.inc.End("in-doubt/"+txid, "transaction no longer in doubt", "tx", txid, "outcome", outcome, "in_doubt_for", waited)
	// An operator's decision is logged where it is applied
	// (participant/resolve.go).
	if how == ByTermination {
		d.inc.Event(slog.LevelWarn, "decided without the coordinator, by the termination protocol",
			"tx", txid, "outcome", outcome, "reason", reason, "in_doubt_for", waited)
	}
}

// Oldest is how long the oldest transaction in doubt has been; 0 for none.
func (d *Doubts) Oldest() time.Duration {
	var oldest time.Time
	for _, t := range d.since {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return d.now().Sub(oldest)
}
