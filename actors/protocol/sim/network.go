package sim

import (
	"fmt"
	"slices"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// Envelope is a message on the simulated network.
type Envelope struct {
	From, To string
	Msg      wire.Message
}

func (e Envelope) String() string {
	return fmt.Sprintf("%s→%s %s", e.From, e.To, protocol.Describe(e.Msg))
}

// Verdict is what the network Filter does with a message.
type Verdict int

const (
	Deliver Verdict = iota
	Drop
	Dup  // deliver it twice
	Hold // keep it until Release (delay, reordering)
)

// Is matches messages of type typ from from to to ("" matches any node).
func Is(from, to string, typ wire.Type) func(Envelope) bool {
	return func(e Envelope) bool {
		return (from == "" || e.From == from) && (to == "" || e.To == to) && e.Msg.Type() == typ
	}
}

// HoldIf is a Filter that holds the messages pred matches.
func HoldIf(pred func(Envelope) bool) func(Envelope) Verdict {
	return func(e Envelope) Verdict {
		if pred(e) {
			return Hold
		}
		return Deliver
	}
}

type evKind int

const (
	evMsg evKind = iota
	evSync
)

type event struct {
	kind evKind
	env  Envelope // evMsg
	node string   // evSync
	inc  int      // evSync: the node's incarnation when queued
}

type sentMsg struct {
	Envelope
	step int
}

// Post puts a message on the network as if node e.From had sent it.
func (s *Sim) Post(e Envelope) {
	s.sent = append(s.sent, sentMsg{e, s.steps})
	v := Deliver
	if s.Filter != nil {
		v = s.Filter(e)
	}
	switch v {
	case Deliver:
		s.queue = append(s.queue, event{kind: evMsg, env: e})
	case Dup:
		s.queue = append(s.queue, event{kind: evMsg, env: e}, event{kind: evMsg, env: e})
	case Drop:
		s.note("  (network drops %s)", e)
		s.dropped = append(s.dropped, e)
	case Hold:
		s.note("  (network holds %s)", e)
		s.held = append(s.held, e)
	}
}

// Inject queues e for delivery as it is, past the Filter and unrecorded
// as sent: a message replayed from the network's past.
func (s *Sim) Inject(e Envelope) { s.queue = append(s.queue, event{kind: evMsg, env: e}) }

// Held lists the held messages, oldest first.
func (s *Sim) Held() []Envelope { return s.held }

// Release puts held messages matching pred (nil: all) back on the network,
// oldest first or reversed; it returns how many.
func (s *Sim) Release(pred func(Envelope) bool, reversed bool) int {
	var out, keep []Envelope
	for _, e := range s.held {
		if pred == nil || pred(e) {
			out = append(out, e)
		} else {
			keep = append(keep, e)
		}
	}
	s.held = keep
	if reversed {
		slices.Reverse(out)
	}
	for _, e := range out {
		s.note("network releases %s", e)
		s.queue = append(s.queue, event{kind: evMsg, env: e})
	}
	return len(out)
}

// Step carries out one queued event (a delivery or a log sync); false when
// there is none.
func (s *Sim) Step() bool {
	if len(s.queue) == 0 {
		return false
	}
	i := 0
	if s.Rng != nil {
		i = s.Rng.Intn(len(s.queue))
	}
	ev := s.queue[i]
	s.queue = slices.Delete(s.queue, i, i+1)
	s.steps++
	switch ev.kind {
	case evSync:
		s.syncNode(ev.node, ev.inc)
	case evMsg:
		s.deliver(ev.env)
	}
	return true
}

// Run carries out events until the network is quiet.
func (s *Sim) Run() {
	for i := 0; s.Step(); i++ {
		if i > 100000 {
			s.t.Fatal("network never went quiet")
		}
	}
}

func (s *Sim) deliver(e Envelope) {
	n := s.nodes[e.To]
	if n == nil || !n.up || s.cut[[2]string{e.From, e.To}] {
		s.note("lost %s", e)
		s.dropped = append(s.dropped, e)
		return
	}
	s.delivered = append(s.delivered, sentMsg{e, s.steps})
	if e.To == CoordID {
		s.toCoordinator(e)
		return
	}
	s.toParticipant(n.p, e)
}

// Split partitions the network: nodes in different groups cannot reach
// each other; a node in no group reaches nobody. A message on a cut link
// is lost when it would be delivered.
func (s *Sim) Split(groups ...[]string) {
	group := map[string]int{}
	for i, g := range groups {
		for _, id := range g {
			group[id] = i + 1
		}
	}
	for a := range s.nodes {
		for b := range s.nodes {
			if a != b && (group[a] == 0 || group[a] != group[b]) {
				s.cut[[2]string{a, b}] = true
			}
		}
	}
}

// Heal restores every link.
func (s *Sim) Heal() { clear(s.cut) }
