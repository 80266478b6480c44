package sim

import (
	"slices"
	"time"

	"github.com/txd/txd/actors/protocol"
)

// timer is a SetTimer a node asked for, with its due time (on the
// coordinator's clock for the coordinator's timers).
type timer struct {
	node string
	inc  int // the node's incarnation when set: a crash voids it
	set  protocol.SetTimer
	due  time.Time
}

// Now is the coordinator's simulated clock.
func (s *Sim) Now() time.Time { return s.now }

// Advance moves the coordinator's clock forward by d; no timer fires.
func (s *Sim) Advance(d time.Duration) { s.now = s.now.Add(d) }

func (s *Sim) addTimer(id string, e protocol.SetTimer) {
	if e.After <= 0 && e.Kind != protocol.TimerForget {
		s.t.Errorf("%s set a timer of %v", id, e.After)
	}
	due := e.Due
	if due.IsZero() {
		due = s.now.Add(e.After)
	}
	s.timers = append(s.timers, timer{node: id, inc: s.nodes[id].inc, set: e, due: due})
}

// live reports whether tm was set by node's current incarnation.
func (s *Sim) live(tm timer) bool {
	n := s.nodes[tm.node]
	return n.up && n.inc == tm.inc
}

// timersOf lists node id's live timers of kind for tx, oldest first
// (stale ones included: the machine must ignore those).
func (s *Sim) timersOf(id, tx string, kind protocol.TimerKind) []timer {
	var out []timer
	for _, tm := range s.timers {
		if tm.node == id && tm.set.TxID == tx && tm.set.Kind == kind && s.live(tm) {
			out = append(out, tm)
		}
	}
	return out
}

// TimersFor counts node id's live protocol timers for tx: the
// coordinator's phase timers, or a participant's termination timers.
func (s *Sim) TimersFor(id, tx string) int { return len(s.timersOf(id, tx, protocol.TimerPhase)) }

// fireTimer fires one timer (and forgets it). A coordinator's timer moves
// its clock to the timer's due time if that is later: a timer fired by hand
// fires on time, unless the clock has already passed it (Advance, or a
// later timer fired first), and then the Coordinator sees it late.
// Participants keep no clock.
func (s *Sim) fireTimer(tm timer) {
	s.timers = slices.DeleteFunc(s.timers, func(x timer) bool { return x == tm })
	if !s.live(tm) {
		return
	}
	if tm.node == CoordID && tm.due.After(s.now) {
		s.now = tm.due
	}
	n := s.nodes[tm.node]
	what := "timer " + tm.set.TxID
	switch {
	case n.p != nil:
		s.call(tm.node, what, n.p.Timer(tm.set.TxID, tm.set.Seq))
	case tm.set.Kind == protocol.TimerResend:
		s.call(tm.node, "resend-timer "+tm.set.TxID, s.Coordinator().Timer(tm.set))
	case tm.set.Kind == protocol.TimerForget:
		s.call(tm.node, "forget-timer", s.Coordinator().Timer(tm.set))
	default:
		s.call(tm.node, what, s.Coordinator().Timer(tm.set))
	}
}

// Fire fires every protocol timer node id has set for tx, oldest first;
// it returns how many it fired. The coordinator's retransmission and
// Forget timers are fired by Resend and FlushForget.
func (s *Sim) Fire(id, tx string) int {
	tms := s.timersOf(id, tx, protocol.TimerPhase)
	for _, tm := range tms {
		s.fireTimer(tm)
	}
	return len(tms)
}

// Resend fires the coordinator's retransmission timers for tx: it sends
// every unanswered phase message again. It returns how many it fired.
func (s *Sim) Resend(tx string) int {
	tms := s.timersOf(CoordID, tx, protocol.TimerResend)
	for _, tm := range tms {
		s.fireTimer(tm)
	}
	return len(tms)
}

// FlushForget fires the coordinator's Forget timer: the gathered lists of
// ended transactions go to their members. It returns how many it fired.
func (s *Sim) FlushForget() int {
	tms := s.timersOf(CoordID, "", protocol.TimerForget)
	for _, tm := range tms {
		s.fireTimer(tm)
	}
	return len(tms)
}
