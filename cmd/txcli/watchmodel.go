package main

import (
	"slices"
	"strings"
	"time"

	"github.com/txd/txd/wire"
)

// The watch model: what txcli watch knows of the cluster, updated by one
// poll at a time and answering with the changes (events) that poll showed.
// It is pure: no I/O, no clock (every poll carries its time), so the tests
// drive it with hand-made polls. The outputs (lines, JSON, the terminal
// view) only render it.

// watchWindow is how far back the throughput and latency figures look.
const watchWindow = 10 * time.Second

// maxRecent is how many outcomes the model keeps for the view.
const maxRecent = 50

// maxLatencies caps the latency samples kept for the window (a few
// thousand per second under load); beyond it the oldest are dropped first.
const maxLatencies = 100_000

// watchPoll is one refresh: the coordinator's status or why there is
// none, and the participants polled directly this time (nil: not this
// time; they are polled less often than the coordinator).
type watchPoll struct {
	at    time.Time
	coord *wire.Status
	err   error
	peers map[string]peerPoll // by participant id
	// nodes are the --endpoints polled this time (nil: not this time),
	// in the order given.
	nodes []endpointPoll
}

// endpointPoll is one --endpoints node's own status, or why it could not
// be had.
type endpointPoll struct {
	addr string
	st   *wire.Status
	err  error
}

// peerPoll is one participant's own status, or why it could not be had.
type peerPoll struct {
	st  *wire.Status
	err error
}

// Event kinds: part of the --json contract.
const (
	evCoordinator = "coordinator" // up (with id and addr) or down (with error)
	evParticipant = "participant" // connected (coordinator's link) or reachable (ours) changed
	evTx          = "tx"          // a transaction appeared or its state or a participant's changed
	evOutcome     = "outcome"     // a transaction was decided
	evInDoubt     = "in_doubt"    // a participant has been READY/PRECOMMITTED, or undecided on a decided transaction, for --in-doubt
	evStats       = "stats"       // throughput and latency over the last seconds
)

// watchEvent is one change. It is also the --json line (a contract: fields
// are only ever added); unset fields are omitted.
type watchEvent struct {
	Time         time.Time         `json:"time"`
	Event        string            `json:"event"`
	ID           string            `json:"id,omitempty"`   // node or transaction id
	Addr         string            `json:"addr,omitempty"` // node address
	Up           *bool             `json:"up,omitempty"`   // coordinator
	Error        string            `json:"error,omitempty"`
	Connected    *bool             `json:"connected,omitempty"` // participant: the coordinator's link to it
	Reachable    *bool             `json:"reachable,omitempty"` // participant: watch reached it directly
	Protocol     string            `json:"protocol,omitempty"`
	State        string            `json:"state,omitempty"`
	Participants map[string]string `json:"participants,omitempty"` // tx: each participant's state ("" unknown)
	Outcome      string            `json:"outcome,omitempty"`
	Reason       string            `json:"reason,omitempty"`
	LatencyUs    *int64            `json:"latency_us,omitempty"`  // outcome: start to durable decision
	DecidedAt    *time.Time        `json:"decided_at,omitempty"`  // outcome: when it was decided, by the coordinator's report (our clock)
	Participant  string            `json:"participant,omitempty"` // in_doubt: whose state
	ForMs        int64             `json:"for_ms,omitempty"`      // in_doubt: how long so far
	Stats        *watchStats       `json:"stats,omitempty"`
}

// peerView is one participant.
type peerView struct {
	id, addr  string
	connected bool // as the coordinator last said
	linkKnown bool // the coordinator has reported its link to it
	endpoint  bool // named by --endpoints (polled even if the coordinator never lists it)
	reachable *bool
	err       string
	keys      int
	own       []wire.TxStatus // its own in-doubt transactions, when reached
	ownNow    int64           // its clock when it made that status (0: it does not say)
}

// txView is one transaction as the coordinator last reported it.
type txView struct {
	st   wire.TxStatus
	sig  string
	seen time.Time // when watch first saw it
}

// outcomeView is a recent outcome.
type outcomeView struct {
	at       time.Time
	id       string
	protocol wire.Protocol
	outcome  wire.State
	reason   string
	latency  time.Duration // 0: unknown
}

// watchModel is everything watch shows.
type watchModel struct {
	inDoubtAfter time.Duration

	polls     int       // refreshes applied
	lastPoll  time.Time // the last refresh
	coordID   string
	coordAddr string
	known     bool // the coordinator has answered at least once
	up        bool
	downSince time.Time
	downErr   string
	boot      int64 // the coordinator's boot time: a change means it restarted
	coordNow  int64 // its clock when it made the last status (0: it does not say)

	peers    []*peerView
	txs      map[string]*txView
	order    []string // txs in the coordinator's order (oldest first)
	baseline bool     // the next status is the first: the outcomes it lists are history, not news

	recent    []outcomeView // newest last
	counts    []countSample
	ownCounts countSample // outcomes seen, for coordinators that do not count
	lats      []latSample
	doubts    map[doubtKey]*doubt

	lastStats   watchStats
	lastStatsAt time.Time
}

func newWatchModel(coordAddr string, inDoubtAfter time.Duration) *watchModel {
	return &watchModel{coordAddr: coordAddr, inDoubtAfter: inDoubtAfter, txs: map[string]*txView{},
		doubts: map[doubtKey]*doubt{}, baseline: true}
}

func boolp(b bool) *bool { return &b }

// apply takes one poll into the model and returns what changed, in order:
// nodes, transactions and outcomes, in-doubt findings, then figures.
func (m *watchModel) apply(p watchPoll) []watchEvent {
	m.polls++
	m.lastPoll = p.at
	var evs []watchEvent
	emit := func(e watchEvent) {
		e.Time = p.at
		evs = append(evs, e)
	}
	if p.coord == nil {
		if m.up || !m.known && m.downSince.IsZero() {
			m.downSince = p.at
			msg := "no answer"
			if p.err != nil {
				msg = oneLine(p.err.Error())
			}
			m.downErr = msg
			emit(watchEvent{Event: evCoordinator, ID: m.coordID, Addr: m.coordAddr, Up: boolp(false), Error: msg})
		}
		m.up = false
	} else {
		m.applyCoord(p, p.coord, emit)
	}
	m.applyPeers(p, emit)
	m.applyEndpoints(p, emit)
	m.findDoubts(p, emit)
	m.trimWindow(p.at)
	if st := m.stats(p.at); m.statsNews(st, p.at) {
		m.lastStats, m.lastStatsAt = st, p.at
		emit(watchEvent{Event: evStats, Stats: &st})
	}
	return evs
}

func (m *watchModel) applyCoord(p watchPoll, st *wire.Status, emit func(watchEvent)) {
	if !m.up {
		m.up, m.known, m.downSince, m.downErr = true, true, time.Time{}, ""
		m.coordID = st.NodeID
		emit(watchEvent{Event: evCoordinator, ID: st.NodeID, Addr: m.coordAddr, Up: boolp(true)})
	}
	m.coordNow = st.Now
	if st.Boot != m.boot {
		// A restarted coordinator counts from zero again.
		m.counts = nil
		m.boot = st.Boot
	}
	prev := map[string]*peerView{}
	for _, pv := range m.peers {
		prev[pv.id] = pv
	}
	peers := make([]*peerView, 0, len(st.Participants))
	listed := map[string]bool{}
	for _, ps := range st.Participants {
		listed[ps.ID] = true
		pv := prev[ps.ID]
		if pv == nil || !pv.linkKnown {
			if pv == nil {
				pv = &peerView{id: ps.ID}
			}
			pv.connected = !ps.Connected // so that it is reported
		}
		pv.linkKnown = true
		if !pv.endpoint {
			pv.addr = ps.Addr
		}
		if pv.connected != ps.Connected {
			pv.connected = ps.Connected
			emit(watchEvent{Event: evParticipant, ID: ps.ID, Addr: ps.Addr, Connected: boolp(ps.Connected)})
		}
		peers = append(peers, pv)
	}
	for _, pv := range m.peers {
		if pv.endpoint && !listed[pv.id] {
			peers = append(peers, pv) // named by --endpoints only
		}
	}
	m.peers = peers

	txs := make(map[string]*txView, len(st.Transactions))
	order := make([]string, 0, len(st.Transactions))
	for _, t := range st.Transactions {
		sig := txSig(t)
		old := m.txs[t.TxID]
		tv := &txView{st: t, sig: sig, seen: p.at}
		if old != nil {
			tv.seen = old.seen
		}
		txs[t.TxID] = tv
		order = append(order, t.TxID)
		if old != nil && old.sig == sig {
			continue
		}
		if old == nil && m.baseline && t.State.Final() && allFinal(t.Participants) {
			// History from before we watched: shown, not reported. (After
			// an outage, outcomes we never saw are news: they happened
			// while we were not looking.)
			m.remember(outcomeOf(m.decidedAt(p.at, t), t))
			continue
		}
		emit(watchEvent{Event: evTx, ID: t.TxID, Protocol: string(t.Protocol), State: string(t.State),
			Reason: t.Reason, Participants: partStates(t.Participants)})
		if t.State.Final() && (old == nil || !old.st.State.Final()) {
			m.outcome(p.at, t, emit)
		}
	}
	m.txs, m.order, m.baseline = txs, order, false // baseline: the first status only

	c := countSample{at: p.at, committed: st.Committed, aborted: st.Aborted}
	if st.Boot == 0 { // a coordinator from before the counts: count what we see
		c.committed, c.aborted = m.ownCounts.committed, m.ownCounts.aborted
	}
	m.counts = append(m.counts, c)
}

// outcome records and reports a transaction's decision.
func (m *watchModel) outcome(at time.Time, t wire.TxStatus, emit func(watchEvent)) {
	o := outcomeOf(m.decidedAt(at, t), t)
	e := watchEvent{Event: evOutcome, ID: t.TxID, Protocol: string(t.Protocol), Outcome: string(t.State), Reason: t.Reason}
	if t.Decided > 0 {
		e.DecidedAt = &o.at
	}
	if o.latency > 0 {
		us := o.latency.Microseconds()
		e.LatencyUs = &us
		m.lats = append(m.lats, latSample{at: at, lat: o.latency})
		if len(m.lats) > maxLatencies {
			m.lats = slices.Delete(m.lats, 0, len(m.lats)-maxLatencies)
		}
	}
	if t.State == wire.StateCommitted {
		m.ownCounts.committed++
	} else {
		m.ownCounts.aborted++
	}
	m.remember(o)
	emit(e)
}

// decidedAt is when t was decided, on our clock: the decision time the
// coordinator reports, carried over from its clock by how old its status
// is (at: when the status arrived); at itself when it does not say.
func (m *watchModel) decidedAt(at time.Time, t wire.TxStatus) time.Time {
	if t.Decided > 0 && m.coordNow >= t.Decided {
		return at.Add(-time.Duration(m.coordNow - t.Decided))
	}
	return at
}

// outcomeOf is t's outcome, decided at at (our clock).
func outcomeOf(at time.Time, t wire.TxStatus) outcomeView {
	o := outcomeView{at: at, id: t.TxID, protocol: t.Protocol, outcome: t.State, reason: t.Reason}
	if t.Started > 0 && t.Decided >= t.Started {
		o.latency = time.Duration(t.Decided - t.Started)
	}
	return o
}

// remember keeps o among the recent outcomes.
func (m *watchModel) remember(o outcomeView) {
	m.recent = append(m.recent, o)
	if len(m.recent) > maxRecent {
		m.recent = slices.Delete(m.recent, 0, len(m.recent)-maxRecent)
	}
}

// live are the transactions still moving, oldest first: undecided, or
// decided with a participant that has not acknowledged.
func (m *watchModel) live() []*txView {
	var out []*txView
	for _, id := range m.order {
		if tv := m.txs[id]; !tv.st.State.Final() || !allFinal(tv.st.Participants) {
			out = append(out, tv)
		}
	}
	return out
}

// txSig identifies what a change of a transaction is: its state and each
// participant's.
func txSig(t wire.TxStatus) string {
	var b strings.Builder
	b.WriteString(string(t.State))
	for _, id := range sortedKeys(t.Participants) {
		b.WriteString("\x00" + id + "=" + string(t.Participants[id]))
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func partStates(ps map[string]wire.State) map[string]string {
	out := make(map[string]string, len(ps))
	for id, s := range ps {
		out[id] = string(s)
	}
	return out
}
