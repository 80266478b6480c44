// Package trace keeps, per node, what happened to each recent transaction:
// the messages it sent and received and the log records it wrote, with
// their times. `txcli trace TXID` asks every node for its list and draws
// them side by side.
//
// Recording sits on the commit path (thousands of transactions a second,
// about ten events each per node), so it is one short mutex-protected
// append: no goroutine, no formatting, no allocation once the ring has
// filled (an evicted transaction's slot and slice are reused). Memory is
// bounded by the number of transactions kept and the events kept per
// transaction; an event is stored in 16 bytes (labels and peers are
// interned: a node sees a handful of each).
package trace

import (
	"sync"

	"github.com/txd/txd/wire"
)

// Kind is what an event is.
type Kind uint8

const (
	Send  Kind = 1 + iota // the node sent What to Peer
	Recv                  // the node received What from Peer
	Force                 // log record What became durable (fsync)
	Log                   // log record What was appended without an fsync (lazy)
)

var kindNames = [...]string{Send: wire.TraceSend, Recv: wire.TraceRecv, Force: wire.TraceForce, Log: wire.TraceLog}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// Event is one thing a node did for a transaction.
type Event struct {
	Time    int64 // unix nanoseconds
	Kind    Kind
	FromLog bool   // read back from the log at start-up
	What    string // message label (see Label) or record kind
	Peer    string // the other node of a message
	Detail  string // a NO vote's or an abort's reason
}

// DefaultTxns is how many transactions a node keeps traces of.
const DefaultTxns = 10000

// maxEvents bounds one transaction's list. A transaction stuck for long
// (a participant down, the coordinator resending every interval) would
// otherwise grow without end; the first half is kept (how it started) and
// the second half holds the most recent events (how it is going).
const maxEvents = 128

// firstCap is a new transaction's room for events: a participant records
// about 8 per transaction, a coordinator about 16 for two participants.
// A reused slot keeps its slice unless a long transaction grew it past
// keepCap, so a few long ones do not pin their memory in the ring.
const (
	firstCap = 8
	keepCap  = 32
)

// maxNames bounds the interned labels and peer ids (peer ids come from
// connections' handshakes); past it, new names are recorded as "?".
const maxNames = 4096

// event is Event as stored: names are indexes into Ring.names, the detail
// an index into its transaction's details (0: none).
type event struct {
	time    int64
	what    uint16
	peer    uint16
	detail  uint16
	kind    Kind
	fromLog bool
}

type txTrace struct {
	id       string
	protocol wire.Protocol
	events   []event
	details  []string // the rare events' reasons
	wrap     int      // once full: next slot to overwrite in events[maxEvents/2:]
	dropped  int
}

// Ring holds the traces of the last N transactions first seen by this node.
type Ring struct {
	since int64 // when the node started recording (unix nanoseconds)

	mu    sync.Mutex // protects following
	txs   map[string]*txTrace
	order []*txTrace // circular, oldest at head once full
	head  int
	names []string // interned What and Peer values; names[0] is ""
	index map[string]uint16
}

// New returns a ring keeping up to n transactions (n < 1: DefaultTxns).
// since is the node's start time: messages before it were not recorded.
func New(n int, since int64) *Ring {
	if n < 1 {
		n = DefaultTxns
	}
	return &Ring{since: since, txs: make(map[string]*txTrace, n), order: make([]*txTrace, 0, n),
		names: []string{"", "?"}, index: map[string]uint16{"": 0, "?": 1}}
}

// Since is when the node started recording.
func (r *Ring) Since() int64 { return r.since }

// Add records one event of transaction txid. proto is the transaction's
// protocol when the caller knows it, else "". A nil Ring records nothing.
func (r *Ring) Add(txid string, proto wire.Protocol, e Event) {
	if r == nil || txid == "" {
		return
	}
	r.mu.Lock()
	t := r.txs[txid]
	if t == nil {
		t = r.slot(txid)
	}
	if proto != "" {
		t.protocol = proto
	}
	ev := event{time: e.Time, what: r.intern(e.What), peer: r.intern(e.Peer), kind: e.Kind, fromLog: e.FromLog}
	if e.Detail != "" {
		switch n := len(t.details); {
		case n > 0 && t.details[n-1] == e.Detail: // a resend: the same reason
			ev.detail = uint16(n)
		case n < maxEvents:
			t.details = append(t.details, e.Detail)
			ev.detail = uint16(n + 1)
		}
	}
	if len(t.events) < maxEvents {
		t.events = append(t.events, ev)
	} else {
		half := maxEvents / 2
		t.events[half+t.wrap] = ev
		t.wrap = (t.wrap + 1) % (maxEvents - half)
		t.dropped++
	}
	r.mu.Unlock()
}

// intern returns s's index in r.names. r.mu is held.
func (r *Ring) intern(s string) uint16 {
	if i, ok := r.index[s]; ok {
		return i
	}
	if len(r.names) >= maxNames {
		return 1 // "?"
	}
	i := uint16(len(r.names))
	r.names = append(r.names, s)
	r.index[s] = i
	return i
}

// slot makes room for a new transaction, reusing the oldest one's memory
// once the ring is full. r.mu is held.
func (r *Ring) slot(txid string) *txTrace {
	var t *txTrace
	if len(r.order) < cap(r.order) {
		t = &txTrace{events: make([]event, 0, firstCap)}
		r.order = append(r.order, t)
	} else {
		t = r.order[r.head]
		delete(r.txs, t.id)
		r.head = (r.head + 1) % len(r.order)
		events := t.events[:0]
		if cap(events) > keepCap {
			events = make([]event, 0, firstCap)
		}
		*t = txTrace{events: events} // details dropped: rare
	}
	t.id = txid
	r.txs[txid] = t
	return t
}

// Has reports whether txid has an event What of kind k (replay uses it to
// tell a forced ABORT, after PREPARED, from a lazy one).
func (r *Ring) Has(txid string, k Kind, what string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.txs[txid]
	w, ok := r.index[what]
	if t == nil || !ok {
		return false
	}
	for _, e := range t.events {
		if e.kind == k && e.what == w {
			return true
		}
	}
	return false
}

// Get returns a copy of txid's events in the order they were recorded, its
// protocol if known and how many events were dropped; ok is false if the
// node has no trace of it.
func (r *Ring) Get(txid string) (events []Event, proto wire.Protocol, dropped int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.txs[txid]
	if t == nil {
		return nil, "", 0, false
	}
	stored := t.events
	if t.dropped > 0 {
		half := maxEvents / 2
		stored = make([]event, 0, len(t.events))
		stored = append(stored, t.events[:half]...)
		stored = append(stored, t.events[half+t.wrap:]...)
		stored = append(stored, t.events[half:half+t.wrap]...)
	}
	events = make([]Event, len(stored))
	for i, e := range stored {
		events[i] = Event{Time: e.time, Kind: e.kind, FromLog: e.fromLog, What: r.names[e.what], Peer: r.names[e.peer]}
		if e.detail > 0 {
			events[i].Detail = t.details[e.detail-1]
		}
	}
	return events, t.protocol, t.dropped, true
}

// Len is how many transactions the ring holds.
func (r *Ring) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.txs)
}
