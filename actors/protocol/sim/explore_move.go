package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/txd/txd/actors/protocol"
)

// The explorer's moves: what may happen next in a state, and how it is
// carried out on a Sim.

// MoveKind is what a move does.
type MoveKind int

const (
	MoveDeliver MoveKind = iota // deliver one message in flight
	MoveSync                    // a node's pending log sync completes
	MoveFire                    // an armed timer fires
	MoveSplit                   // the network splits in two (Split)
	MoveCrash                   // a node crashes (Crash)
	MoveRestart                 // a crashed node restarts (Restart)
	MoveDrop                    // the network loses one message in flight
)

// Move is one step of an exploration. Msg names a message by every field
// (msgKey); Timer names a timer by node, kind and transaction.
type Move struct {
	Kind   MoveKind
	Node   string
	Msg    string
	Timer  protocol.SetTimer
	Groups [][]string
	Desc   string // what a reader of a trace is told
}

func (m Move) String() string { return m.Desc }

// budget is what a state may still spend: losses, splits, then per node
// (the coordinator first, then the participants) crashes and timer fires,
// and last the moves left before the depth bound.
type budget []int

const (
	bLoss = iota
	bSplit
	bNodes // crashes of node i at bNodes+2i, its fires at bNodes+2i+1
)

func newBudget(b Bounds, nodes int) budget {
	l := make(budget, bNodes+2*nodes+1)
	l[bLoss], l[bSplit] = b.Losses, b.Splits
	l[bNodes], l[bNodes+1] = b.CoordCrashes, b.CoordFires
	for i := 1; i < nodes; i++ {
		l[bNodes+2*i], l[bNodes+2*i+1] = b.Crashes, b.Fires
	}
	return l
}

// dominates reports whether l can do everything o can.
func (l budget) dominates(o budget) bool {
	for i := range l {
		if l[i] < o[i] {
			return false
		}
	}
	return true
}

// nodeIndex is id's place in the budget: the coordinator 0, then the
// participants in member order.
func (s *Sim) nodeIndex(id string) int {
	if id == CoordID {
		return 0
	}
	return 1 + slices.Index(s.ids, id)
}

// moves lists what may happen next, in a fixed order: deliveries first,
// so that a depth-first search runs the failure-free path before any
// failure. With fifo, a link delivers (or loses) its oldest message first,
// as a TCP connection does.
func (s *Sim) moves(left budget, fifo bool) []Move {
	var out []Move
	keys := map[string]bool{}
	links := map[[2]string]bool{}
	for _, ev := range s.queue {
		link := [2]string{ev.env.From, ev.env.To}
		if ev.kind != evMsg || keys[s.msgKey(ev.env)] || fifo && links[link] {
			continue
		}
		keys[s.msgKey(ev.env)], links[link] = true, true
		out = append(out, Move{Kind: MoveDeliver, Msg: s.msgKey(ev.env), Desc: "deliver " + ev.env.String()})
	}
	all := append([]string{CoordID}, s.ids...)
	for _, id := range all {
		n := s.nodes[id]
		if n.up && slices.ContainsFunc(n.log.buf, func(p protocol.Persist) bool { return p.Force }) {
			out = append(out, Move{Kind: MoveSync, Node: id, Desc: "sync " + id + "'s log"})
		}
	}
	for _, tm := range s.timers {
		if left[bNodes+2*s.nodeIndex(tm.node)+1] > 0 {
			out = append(out, Move{Kind: MoveFire, Node: tm.node, Timer: tm.set, Desc: timerDesc(tm)})
		}
	}
	if left[bSplit] > 0 && len(s.cut) == 0 {
		out = append(out, s.splits()...)
	}
	for _, id := range all {
		if s.nodes[id].up && left[bNodes+2*s.nodeIndex(id)] > 0 {
			out = append(out, Move{Kind: MoveCrash, Node: id, Desc: id + " crashes"})
		}
	}
	for _, id := range all {
		if !s.nodes[id].up {
			out = append(out, Move{Kind: MoveRestart, Node: id, Desc: id + " restarts"})
		}
	}
	if left[bLoss] > 0 {
		for _, m := range out {
			if m.Kind == MoveDeliver {
				out = append(out, Move{Kind: MoveDrop, Msg: m.Msg, Desc: "lose " + strings.TrimPrefix(m.Desc, "deliver ")})
			}
		}
	}
	return out
}

func timerDesc(tm timer) string {
	kind := map[protocol.TimerKind]string{protocol.TimerPhase: "timer", protocol.TimerResend: "resend timer", protocol.TimerForget: "forget timer"}[tm.set.Kind]
	if tm.node != CoordID {
		kind = "termination timer"
	}
	return fmt.Sprintf("%s's %s %s fires", tm.node, kind, tm.set.TxID)
}

// splits lists every way to cut the cluster in two (the coordinator's side
// named first).
func (s *Sim) splits() []Move {
	var out []Move
	for mask := 0; mask < 1<<len(s.ids)-1; mask++ {
		a, b := []string{CoordID}, []string{}
		for i, id := range s.ids {
			if mask&(1<<i) != 0 {
				a = append(a, id)
			} else {
				b = append(b, id)
			}
		}
		out = append(out, Move{Kind: MoveSplit, Groups: [][]string{a, b},
			Desc: fmt.Sprintf("the network splits %v | %v", a, b)})
	}
	return out
}

// do carries out m on s, spending from left.
func (s *Sim) do(m Move, left budget) {
	switch m.Kind {
	case MoveDeliver, MoveDrop:
		i := slices.IndexFunc(s.queue, func(ev event) bool { return ev.kind == evMsg && s.msgKey(ev.env) == m.Msg })
		ev := s.queue[i]
		s.queue = slices.Delete(s.queue, i, i+1)
		s.steps++
		if m.Kind == MoveDrop {
			left[bLoss]--
			s.note("network loses %s", ev.env)
			s.dropped = append(s.dropped, ev.env)
			break
		}
		s.deliver(ev.env)
	case MoveSync:
		s.Sync(m.Node)
	case MoveFire:
		left[bNodes+2*s.nodeIndex(m.Node)+1]--
		i := slices.IndexFunc(s.timers, func(tm timer) bool { return tm.node == m.Node && tm.set == m.Timer })
		tm := s.timers[i]
		s.timers = slices.Delete(s.timers, i, i+1)
		// Time is abstract: a timer may fire whenever it is armed, and the
		// coordinator's clock stays put, so that a timer never fires late.
		tm.due = s.now
		s.fireTimer(tm)
	case MoveSplit:
		left[bSplit]--
		s.Split(m.Groups...)
	case MoveCrash:
		left[bNodes+2*s.nodeIndex(m.Node)]--
		s.Crash(m.Node)
	case MoveRestart:
		s.Restart(m.Node)
	}
	s.tidy()
}

// tidy drops what can no longer change anything: queued syncs (a sync is a
// move while a node's tail holds a forced record), timers of a crashed
// incarnation, and a timer superseded by a newer one of the same node, kind
// and transaction (the machines ignore a timer whose Seq is not their
// latest).
func (s *Sim) tidy() {
	s.queue = slices.DeleteFunc(s.queue, func(ev event) bool { return ev.kind == evSync })
	type key struct {
		node string
		kind protocol.TimerKind
		tx   string
	}
	seen := map[key]bool{}
	var keep []timer
	for i := len(s.timers) - 1; i >= 0; i-- {
		tm := s.timers[i]
		k := key{tm.node, tm.set.Kind, tm.set.TxID}
		if !s.live(tm) || seen[k] {
			continue
		}
		seen[k] = true
		keep = append(keep, tm)
	}
	slices.Reverse(keep)
	s.timers = keep
}
