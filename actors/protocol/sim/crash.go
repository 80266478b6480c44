package sim

import (
	"slices"

	"github.com/txd/txd/actors/protocol"
)

// Crash loses node id's memory, unsynced log tail, timers and pending
// syncs. Messages in flight to it are lost when they arrive while it is
// down.
func (s *Sim) Crash(id string) {
	n := s.nodes[id]
	n.up = false
	n.inc++
	n.log.buf = nil
	n.p, n.c = nil, nil
	s.note("%s crashes", id)
}

// SyncThenCrash makes node id's written records durable and crashes it
// before the host can call Logged: the window between fsync and send.
func (s *Sim) SyncThenCrash(id string) {
	n := s.nodes[id]
	for _, p := range n.log.buf {
		n.log.durable = append(n.log.durable, p.Rec)
	}
	n.log.buf = nil
	s.Crash(id)
}

// Kill crashes node id and loses every message in flight to or from it
// (queued or held).
func (s *Sim) Kill(id string) {
	s.Crash(id)
	s.queue = slices.DeleteFunc(s.queue, func(ev event) bool {
		return ev.kind == evMsg && (ev.env.From == id || ev.env.To == id)
	})
	s.held = slices.DeleteFunc(s.held, func(e Envelope) bool { return e.From == id || e.To == id })
}

// Restart rebuilds node id from its durable log and runs its recovery, as
// its host does at start-up.
func (s *Sim) Restart(id string) {
	n := s.nodes[id]
	n.up = true
	if id != CoordID {
		n.p = protocol.NewParticipant(s.partCfg(id))
		for _, r := range n.log.durable {
			if err := n.p.Replay(r); err != nil {
				s.t.Fatalf("%s replay: %v", id, err)
			}
		}
		s.call(id, "restart", n.p.Recovered())
		return
	}
	// The coordinator host's recovery: the log's content (CoordLog) goes
	// to a fresh Coordinator, which resumes every transaction without END.
	l := protocol.NewCoordLog(s.Cfg.Keep)
	for _, r := range n.log.durable {
		if err := l.Apply(r); err != nil {
			s.t.Fatalf("coordinator replay: %v", err)
		}
	}
	c := s.Coordinator()
	s.coordFrom = len(s.delivered)
	clear(s.recovered)
	for _, lt := range l.All() {
		c.Recover(*lt)
		if !lt.Ended {
			s.recovered[lt.ID] = true
		}
	}
	s.call(id, "restart", c.Recovered())
}
