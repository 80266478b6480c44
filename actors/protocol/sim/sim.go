package sim

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// The coordinator's id and address, and the protocol timeouts a new Sim
// configures (Cfg and PartCfg may change them before the first event).
const (
	CoordID   = "TC"
	CoordAddr = "tc:7000"
	VoteAfter = time.Second
	AskAfter  = 2 * time.Second
	RetryEach = 500 * time.Millisecond
)

// AddrOf is where participant id listens.
func AddrOf(id string) string { return strings.ToLower(id) + ":7001" }

// node is one simulated machine and its log. Exactly one of p and c is
// set while it is up.
type node struct {
	id  string
	up  bool
	inc int // incarnation: bumped by every crash
	log wal
	p   *protocol.Participant
	c   *protocol.Coordinator
}

// Sim is a simulated cluster: one coordinator, participants ids.
type Sim struct {
	t testing.TB
	// Cfg configures the coordinator, PartCfg every participant (NodeID
	// is set per node). Changes take effect at the coordinator's first
	// event or restart, and at a participant's restart.
	Cfg     protocol.CoordinatorConfig
	PartCfg protocol.ParticipantConfig
	// Proto is what Begin starts (2PC unless the test says otherwise).
	Proto wire.Protocol
	// Filter decides the fate of each message as it is sent (nil: deliver).
	Filter func(Envelope) Verdict
	// Rng, when set, delivers queued events in a seeded random order.
	Rng *rand.Rand
	// Transcript, when set, gets every event a machine takes in and the
	// effects it gives out, one a line.
	Transcript *strings.Builder

	ids   []string // participants, in member order
	nodes map[string]*node
	cut   map[[2]string]bool // links (from, to) that lose every message
	now   time.Time          // the coordinator's clock

	queue  []event
	held   []Envelope
	timers []timer
	reqID  uint64

	steps     int
	sent      []sentMsg      // every message a machine emitted
	delivered []sentMsg      // every message a machine received
	coordFrom int            // delivered[coordFrom:] reached the coordinator's current run
	begun     map[string]int // delivered[begun[tx]:] came after a client began tx on it
	dropped   []Envelope
	replies   []protocol.Reply
	answers   []wire.Message // what clients were told (StartResult, Error)
	finished  map[string]int
	refused   []protocol.Refused
	contra    []protocol.Contradiction
	recovered map[string]bool     // transactions the coordinator's last restart resumed
	keys      map[Envelope]string // the explorer's msgKey of each message, computed once
}

// Epoch is where the coordinator's simulated clock starts.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// New returns a cluster of a coordinator and participants ids, all up,
// with empty logs.
func New(t testing.TB, ids ...string) *Sim {
	s := &Sim{
		t: t,
		Cfg: protocol.CoordinatorConfig{
			CoordConfig: protocol.CoordConfig{NodeID: CoordID, Addr: CoordAddr, Vote: VoteAfter},
			Retry:       RetryEach, MaxInflight: 1 << 20, Keep: 1 << 20,
		},
		PartCfg:   protocol.ParticipantConfig{Timeout: AskAfter},
		Proto:     wire.TwoPC,
		ids:       ids,
		nodes:     map[string]*node{},
		cut:       map[[2]string]bool{},
		now:       Epoch,
		finished:  map[string]int{},
		begun:     map[string]int{},
		recovered: map[string]bool{},
	}
	s.nodes[CoordID] = &node{id: CoordID, up: true}
	for _, id := range ids {
		s.nodes[id] = &node{id: id, up: true, p: protocol.NewParticipant(s.partCfg(id))}
	}
	return s
}

func (s *Sim) partCfg(id string) protocol.ParticipantConfig {
	c := s.PartCfg
	c.NodeID = id
	return c
}

// IDs lists the participants in member order.
func (s *Sim) IDs() []string { return s.ids }

// Up reports whether node id is running.
func (s *Sim) Up(id string) bool { return s.nodes[id].up }

// Part returns participant id's machine; the test fails if it is down.
func (s *Sim) Part(id string) *protocol.Participant {
	n := s.nodes[id]
	if n == nil || n.p == nil {
		s.t.Fatalf("no live participant %s", id)
	}
	return n.p
}

// Coordinator returns the coordinator's machine, creating it from Cfg at
// its first use; nil while it is down.
func (s *Sim) Coordinator() *protocol.Coordinator {
	n := s.nodes[CoordID]
	if !n.up {
		return nil
	}
	if n.c == nil {
		cfg := s.Cfg
		cfg.Now = func() time.Time { return s.now }
		n.c = protocol.NewCoordinator(cfg)
	}
	return n.c
}

// Coord returns the coordinator's transaction tx; the test fails if it
// has none.
func (s *Sim) Coord(tx string) *protocol.CoordTxn {
	c := s.Coordinator()
	if c == nil || c.Txn(tx) == nil {
		s.t.Fatalf("coordinator has no transaction %s", tx)
	}
	return c.Txn(tx)
}

// Members lists participants ids as transaction members.
func (s *Sim) Members(ids []string) []wire.Member {
	ms := make([]wire.Member, len(ids))
	for i, id := range ids {
		ms[i] = wire.Member{ID: id, Addr: AddrOf(id)}
	}
	return ms
}

// Seed gives key the committed value v on participant id, through its log
// so that it survives a crash.
func (s *Sim) Seed(id, key, v string) {
	s.t.Helper()
	n := s.nodes[id]
	tx := fmt.Sprintf("seed-%s-%d", id, len(n.log.durable))
	recs := []protocol.Record{
		{Kind: protocol.RecPrepared, TxID: tx, Protocol: wire.TwoPC, Coord: CoordID,
			Ops: []wire.Op{{Kind: wire.OpSet, Key: key, Value: v}}},
		{Kind: protocol.RecCommit, TxID: tx, Protocol: wire.TwoPC},
	}
	for _, r := range recs {
		n.log.durable = append(n.log.durable, r)
		if err := n.p.Replay(r); err != nil {
			s.t.Fatal(err)
		}
	}
}

// note writes a line to the transcript, if one is kept.
func (s *Sim) note(format string, args ...any) {
	if s.Transcript != nil {
		fmt.Fprintf(s.Transcript, format+"\n", args...)
	}
}

// call notes an event node id takes in and carries out its effects.
func (s *Sim) call(id, event string, effs []protocol.Effect) {
	if s.Transcript != nil {
		s.note("%s ← %s", id, event)
		for _, k := range protocol.Kinds(effs) {
			s.note("  %s", k)
		}
	}
	s.apply(id, effs)
}
