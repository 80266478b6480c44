package main

import (
	"cmp"
	"slices"
	"time"

	"github.com/txd/txd/wire"
)

// traceView is one transaction's timeline as the nodes recorded it: every
// node asked (answered or not) and all their events merged by time. It is
// also `trace --json`'s output: field names are a contract, only add.
type traceView struct {
	ID       string       `json:"id"`
	Protocol string       `json:"protocol"`           // "" if no node knows it
	Start    string       `json:"start,omitempty"`    // the first event's time (RFC 3339, UTC, its node's clock)
	StartNS  int64        `json:"start_ns,omitempty"` // the same in unix nanoseconds
	Nodes    []traceNode  `json:"nodes"`
	Events   []traceEvent `json:"events"`
}

// traceNode is one node asked for its trace.
type traceNode struct {
	ID        string `json:"id"` // as reported (or as configured, when it did not answer)
	Role      string `json:"role,omitempty"`
	Addr      string `json:"addr"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`     // why it could not be asked
	Known     bool   `json:"known"`               // it has events for the transaction
	First     string `json:"first,omitempty"`     // its first event's time, its own clock (RFC 3339, UTC)
	FirstNS   int64  `json:"first_ns,omitempty"`  // the same in unix nanoseconds
	Since     string `json:"since,omitempty"`     // when it started recording: messages before are unknown
	SinceNS   int64  `json:"since_ns,omitempty"`  // the same in unix nanoseconds
	Restarted bool   `json:"restarted,omitempty"` // its events for the transaction begin before Since (from its log)
	Dropped   int    `json:"dropped,omitempty"`   // events it did not keep (a very long transaction)
}

// traceEvent is one event of one node.
type traceEvent struct {
	Node     string  `json:"node"`
	TimeNS   int64   `json:"time_ns"`   // unix nanoseconds, the node's own clock
	OffsetUS float64 `json:"offset_us"` // microseconds after the first event of the transaction
	Kind     string  `json:"kind"`      // send, recv, force, log
	What     string  `json:"what"`      // message (PREPARE, VOTE YES, ...) or record (PREPARED, ...)
	Peer     string  `json:"peer,omitempty"`
	Detail   string  `json:"detail,omitempty"`
	FromLog  bool    `json:"from_log,omitempty"` // read back from the node's log after a restart
	// EarlyUS: a message received, by the receiver's clock, this many
	// microseconds before its sender's clock says it was sent. The event
	// is listed after the send (causal order) with this note.
	EarlyUS float64 `json:"early_us,omitempty"`
}

// traceAnswer is what asking one node gave.
type traceAnswer struct {
	id   string // who we meant to ask (its configured id; "" if unknown)
	addr string
	tr   *wire.Trace
	err  error
}

// buildView merges the nodes' answers, in the order given (the coordinator
// first). Events sort by time (each node's own clock), ties keeping node
// order and each node's recording order. Under 3PC the first and last
// phase messages are renamed to 3PC's names, CAN-COMMIT and DO-COMMIT.
func buildView(txid string, answers []traceAnswer) traceView {
	v := traceView{ID: txid, Nodes: []traceNode{}, Events: []traceEvent{}}
	for _, a := range answers {
		if a.tr != nil && a.tr.Protocol != "" && v.Protocol == "" {
			v.Protocol = string(a.tr.Protocol)
		}
	}
	for _, a := range answers {
		n := traceNode{ID: a.id, Addr: a.addr}
		if a.err != nil || a.tr == nil {
			n.Error = "no answer"
			if a.err != nil {
				n.Error = oneLine(a.err.Error())
			}
			v.Nodes = append(v.Nodes, n)
			continue
		}
		n.Reachable = true
		n.ID, n.Role, n.Dropped = a.tr.NodeID, string(a.tr.Role), a.tr.Dropped
		if a.tr.Since > 0 {
			n.SinceNS, n.Since = a.tr.Since, stamp(a.tr.Since)
		}
		for _, e := range a.tr.Events {
			if !n.Known || e.Time < n.FirstNS {
				n.FirstNS = e.Time
			}
			n.Known = true
			if e.FromLog && e.Time < a.tr.Since {
				n.Restarted = true
			}
			v.Events = append(v.Events, traceEvent{Node: n.ID, TimeNS: e.Time, Kind: e.Kind,
				What: phaseName(v.Protocol, e.Kind, e.What), Peer: e.Peer, Detail: e.Detail, FromLog: e.FromLog})
		}
		if n.Known {
			n.First = stamp(n.FirstNS)
		}
		v.Nodes = append(v.Nodes, n)
	}
	slices.SortStableFunc(v.Events, func(a, b traceEvent) int { return cmp.Compare(a.TimeNS, b.TimeNS) })
	v.Events = causalOrder(v.Events, v.Nodes)
	if len(v.Events) > 0 {
		v.StartNS = v.Events[0].TimeNS
		v.Start = stamp(v.StartNS)
		for i := range v.Events {
			v.Events[i].OffsetUS = float64(v.Events[i].TimeNS-v.StartNS) / 1e3
		}
	}
	return v
}

// causalOrder lists every received message after the send it is the
// receipt of (the k-th receipt of What from a peer matches that peer's
// k-th send of What to the receiver), whatever the clocks say: a receipt
// stamped before its send moves to just after it, with EarlyUS set. The
// offsets stay each event's own clock's.
//
// Counting only holds where both ends recorded every such message, so a
// receipt stays where its clock puts it, unmatched, when
//   - it is stamped before its sender started recording (Since): the
//     sender's previous run sent it, and those sends are gone. Matched, it
//     would take the place of a resend after the restart (the decision
//     delivered again, a second FORGET) and read as "stamped seconds
//     before its send" on a single clock;
//   - either end dropped events (a long transaction keeps its first and
//     latest ones): the k-th receipt kept is not the k-th send kept.
func causalOrder(evs []traceEvent, nodes []traceNode) []traceEvent {
	type key struct{ from, to, what string }
	since, dropped := map[string]int64{}, map[string]bool{}
	for _, n := range nodes {
		since[n.ID], dropped[n.ID] = n.SinceNS, n.Dropped > 0
	}
	sent, got := map[key]int{}, map[key]int{}
	for i := 0; i < len(evs); i++ {
		e := evs[i]
		switch e.Kind {
		case wire.TraceSend:
			sent[key{e.Node, e.Peer, e.What}]++
			continue
		case wire.TraceRecv:
		default:
			continue
		}
		k := key{e.Peer, e.Node, e.What}
		if e.TimeNS < since[e.Peer] || dropped[e.Peer] || dropped[e.Node] {
			continue
		}
		if got[k] < sent[k] {
			got[k]++
			continue
		}
		j := slices.IndexFunc(evs[i+1:], func(s traceEvent) bool {
			return s.Kind == wire.TraceSend && s.Node == k.from && s.Peer == k.to && s.What == k.what
		})
		if j < 0 {
			got[k]++ // its send was not recorded
			continue
		}
		j += i + 1
		e.EarlyUS = float64(evs[j].TimeNS-e.TimeNS) / 1e3
		evs = slices.Insert(slices.Delete(evs, i, i+1), j, e)
		i-- // evs[i] is now the next event
	}
	return evs
}

// known reports whether any node has events for the transaction.
func (v traceView) known() bool { return len(v.Events) > 0 }

// phaseName gives 3PC's names to the messages 2PC and 3PC share.
func phaseName(proto, kind, what string) string {
	if proto != string(wire.ThreePC) || (kind != wire.TraceSend && kind != wire.TraceRecv) {
		return what
	}
	switch what {
	case "PREPARE":
		return "CAN-COMMIT"
	case "COMMIT":
		return "DO-COMMIT"
	}
	return what
}

// stamp is a node-clock time as RFC 3339 in UTC, to the microsecond.
func stamp(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}
