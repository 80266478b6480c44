package main

import (
	"slices"
	"strings"
	"time"

	"github.com/txd/txd/wire"
)

// Who is in doubt, and since when.

// doubtKey is one participant's state on one transaction.
type doubtKey struct{ tx, part, state string }

// doubt is a participant found in doubt: since when, and whether it has
// been reported.
type doubt struct {
	since    time.Time
	reported bool
	decided  wire.State // the coordinator's decision, if any: then it only waits for an ack
}

func inDoubtState(s wire.State) bool { return s == wire.StateReady || s == wire.StatePrecommitted }

// findDoubts updates who is in doubt and reports each the first time it
// has been so for inDoubtAfter. A participant is in doubt on a transaction
// when it is READY or PRECOMMITTED (by the coordinator's word while it is
// up, by its own while the coordinator is down: that is 2PC blocking), or
// when the coordinator decided and it has not acknowledged.
func (m *watchModel) findDoubts(p watchPoll, emit func(watchEvent)) {
	now := map[doubtKey]wire.State{} // → the coordinator's decision, if any
	// A decision the coordinator made before we first saw it waiting for
	// an ack has waited since then (by its clock, which it tells us).
	decidedAt := map[string]time.Time{}
	if m.up {
		for _, id := range m.order {
			t := m.txs[id].st
			for part, s := range t.Participants {
				if inDoubtState(s) || t.State.Final() && !s.Final() {
					now[doubtKey{t.TxID, part, string(s)}] = decision(t.State)
				}
			}
			if t.State.Final() && t.Decided > 0 && m.coordNow >= t.Decided {
				decidedAt[t.TxID] = p.at.Add(-time.Duration(m.coordNow - t.Decided))
			}
		}
	}
	for _, pv := range m.peers {
		if pv.reachable == nil || !*pv.reachable {
			continue
		}
		for _, t := range pv.own {
			k := doubtKey{t.TxID, pv.id, string(t.State)}
			if _, ok := now[k]; !ok && (!m.up || m.txs[t.TxID] == nil) {
				now[k] = ""
			}
		}
	}
	for k := range m.doubts {
		if _, ok := now[k]; !ok {
			delete(m.doubts, k)
		}
	}
	keys := make([]doubtKey, 0, len(now))
	for k := range now {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b doubtKey) int {
		return strings.Compare(a.tx+"\x00"+a.part, b.tx+"\x00"+b.part)
	})
	for _, k := range keys {
		d := m.doubts[k]
		if d == nil {
			d = &doubt{since: p.at}
			m.doubts[k] = d
			if at, ok := decidedAt[k.tx]; ok && now[k] != "" && at.Before(d.since) {
				d.since = at
			}
		}
		d.decided = now[k]
		if age := p.at.Sub(d.since); !d.reported && age >= m.inDoubtAfter {
			d.reported = true
			e := watchEvent{Event: evInDoubt, ID: k.tx, Participant: k.part, State: k.state, ForMs: age.Milliseconds()}
			if d.decided != "" {
				e.Outcome = string(d.decided)
			}
			emit(e)
		}
	}
}

func decision(s wire.State) wire.State {
	if s.Final() {
		return s
	}
	return ""
}

// inDoubt is how many participant/transaction pairs have been in doubt for
// inDoubtAfter.
func (m *watchModel) inDoubt() int {
	n := 0
	for _, d := range m.doubts {
		if d.reported {
			n++
		}
	}
	return n
}

// doubtOf reports whether participant part is in doubt on tx (for the view).
func (m *watchModel) doubtOf(tx, part string, s wire.State) (*doubt, bool) {
	d := m.doubts[doubtKey{tx, part, string(s)}]
	return d, d != nil && d.reported
}
