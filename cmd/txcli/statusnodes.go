package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/txd/txd/wire"
)

// status --endpoints: each node's own view, asked directly, so that the
// cluster shows also while its coordinator is down.

// nodeJSON is one --endpoints node in status --json.
type nodeJSON struct {
	Addr        string           `json:"addr"`
	Reachable   bool             `json:"reachable"`
	Error       string           `json:"error,omitempty"`
	Coordinator *coordinatorJSON `json:"coordinator,omitempty"`
	Participant *participantJSON `json:"participant,omitempty"`
	// InDoubt: a participant's transactions in doubt, and since when.
	InDoubt []inDoubtJSON `json:"in_doubt,omitempty"`
}

// inDoubtJSON is a transaction a participant holds in doubt.
type inDoubtJSON struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	PreparedNs int64  `json:"prepared_ns,omitempty"` // its clock: in doubt since then
	ForMs      int64  `json:"for_ms,omitempty"`      // for this long, by its clock
	Coord      string `json:"coordinator,omitempty"`
	CoordAddr  string `json:"coordinator_addr,omitempty"`
}

// nodesJSON is status --endpoints --json.
type nodesJSON struct {
	Nodes []nodeJSON `json:"nodes"`
}

// runStatusNodes asks every endpoint at once and shows each one's view;
// a coordinator's transactions show its participants' own states when
// they are among the endpoints. It fails only when no node answers.
func runStatusNodes(ctx context.Context, sc statusConfig, s streams) error {
	ctx, cancel := context.WithTimeout(ctx, sc.timeout)
	defer cancel()
	answers := askAll(ctx, sc.dial, sc.endpoints)
	byID := map[string]*peerStatus{}
	reached := 0
	for i, a := range answers {
		if a.st != nil {
			reached++
			sc.filter(a.st)
			if a.st.Role == wire.RoleParticipant {
				byID[a.st.NodeID] = &peerStatus{st: a.st, addr: sc.endpoints[i]}
			}
		}
	}
	peersOf := func(st *wire.Status) []*peerStatus {
		out := make([]*peerStatus, len(st.Participants))
		for i, p := range st.Participants {
			out[i] = byID[p.ID] // nil: not among the endpoints
		}
		return out
	}
	if sc.json {
		out := nodesJSON{Nodes: []nodeJSON{}}
		for i, a := range answers {
			n := nodeJSON{Addr: sc.endpoints[i], Reachable: a.st != nil}
			switch {
			case a.st == nil:
				n.Error = oneLine(errText(a.err))
			case a.st.Role == wire.RoleCoordinator:
				c := toCoordinatorJSON(a.st, peersOf(a.st))
				n.Coordinator = &c
			default:
				p := toParticipantJSON(a.st)
				n.Participant, n.InDoubt = &p, inDoubtOf(a.st)
			}
			out.Nodes = append(out.Nodes, n)
		}
		if err := writeJSON(s.out, out); err != nil {
			return err
		}
	} else {
		for i, a := range answers {
			if i > 0 {
				fmt.Fprintln(s.out)
			}
			switch {
			case a.st == nil:
				fmt.Fprintf(s.out, "node at %s: down: %s\n", sc.endpoints[i], oneLine(errText(a.err)))
			case a.st.Role == wire.RoleCoordinator:
				writeCoordinator(s.out, a.st, peersOf(a.st))
			default:
				writeParticipant(s.out, a.st, sc.endpoints[i])
				writeDoubtSince(s.out, inDoubtOf(a.st))
			}
		}
	}
	if reached == 0 {
		return failf("no node of --endpoints answered")
	}
	return nil
}

// inDoubtOf lists st's transactions in doubt, with since when by its clock.
func inDoubtOf(st *wire.Status) []inDoubtJSON {
	var out []inDoubtJSON
	for _, t := range st.Transactions {
		if !inDoubtState(t.State) {
			continue
		}
		d := inDoubtJSON{ID: t.TxID, State: string(t.State), PreparedNs: t.Prepared}
		if t.Prepared > 0 && st.Now >= t.Prepared {
			d.ForMs = time.Duration(st.Now - t.Prepared).Milliseconds()
		}
		if t.Doubt != nil {
			d.Coord, d.CoordAddr = t.Doubt.Coord, t.Doubt.CoordAddr
		}
		out = append(out, d)
	}
	return out
}

// writeDoubtSince says what a participant holds in doubt and for how long.
func writeDoubtSince(w io.Writer, ds []inDoubtJSON) {
	if len(ds) == 0 {
		return
	}
	fmt.Fprintln(w, "IN DOUBT")
	t := newTable(w)
	t.row("ID", "STATE", "FOR", "COORDINATOR")
	for _, d := range ds {
		since := "?"
		if d.ForMs > 0 {
			since = showAge(time.Duration(d.ForMs) * time.Millisecond)
		}
		coord := strings.TrimSpace(cell(orDash(d.Coord)) + " at " + cell(orDash(d.CoordAddr)))
		t.row(cell(d.ID), cell(d.State), since, coord)
	}
	t.flush()
}
