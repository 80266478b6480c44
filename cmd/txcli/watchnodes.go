package main

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/txd/txd/wire"
)

// The participants in watch: as the coordinator lists them (its link to
// each), and as each answers for itself, also when the coordinator is
// down or never answered (--endpoints).

// applyPeers takes in the participants polled directly this time.
func (m *watchModel) applyPeers(p watchPoll, emit func(watchEvent)) {
	for _, pv := range m.peers {
		pp, ok := p.peers[pv.id]
		if !ok || pv.endpoint {
			continue // an endpoint is polled by its address (applyEndpoints)
		}
		m.takePeer(pv, pp, emit)
	}
}

// applyEndpoints takes in the --endpoints polled this time: each
// participant among them joins the view even if the coordinator never
// listed it (it is down, or never answered). A coordinator among them is
// polled as the coordinator.
func (m *watchModel) applyEndpoints(p watchPoll, emit func(watchEvent)) {
	for _, ep := range p.nodes {
		if ep.st != nil && ep.st.Role == wire.RoleCoordinator {
			if m.coordAddr == "" {
				m.coordAddr = ep.addr
			}
			continue
		}
		var pv *peerView
		for _, q := range m.peers {
			if ep.st != nil && q.id == ep.st.NodeID || q.endpoint && q.addr == ep.addr {
				pv = q
				break
			}
		}
		if pv == nil {
			id := ep.addr // until it answers
			if ep.st != nil {
				id = ep.st.NodeID
			}
			pv = &peerView{id: id}
			m.peers = append(m.peers, pv)
		}
		if ep.st != nil {
			pv.id = ep.st.NodeID
		}
		pv.endpoint, pv.addr = true, ep.addr
		m.takePeer(pv, peerPoll{st: ep.st, err: ep.err}, emit)
	}
}

// takePeer takes in one participant's own status, or why it has none.
func (m *watchModel) takePeer(pv *peerView, pp peerPoll, emit func(watchEvent)) {
	reach := pp.err == nil && pp.st != nil
	if pv.reachable == nil || *pv.reachable != reach {
		e := watchEvent{Event: evParticipant, ID: pv.id, Addr: pv.addr, Reachable: boolp(reach)}
		if !reach && pp.err != nil {
			e.Error = oneLine(pp.err.Error())
		}
		emit(e)
	}
	pv.reachable = boolp(reach)
	pv.own, pv.err, pv.ownNow = nil, "", 0
	if !reach {
		if pp.err != nil {
			pv.err = oneLine(pp.err.Error())
		}
		return
	}
	pv.keys, pv.ownNow = int(summaryOf(pp.st).Keys), pp.st.Now
	for _, t := range pp.st.Transactions {
		if inDoubtState(t.State) {
			pv.own = append(pv.own, t)
		}
	}
}

// peerList is the participants to poll directly (a copy: the poll may
// run on another goroutine than the model's). Endpoints are polled by
// address, apart.
func (m *watchModel) peerList() []wire.PeerStatus {
	out := make([]wire.PeerStatus, 0, len(m.peers))
	for _, p := range m.peers {
		if !p.endpoint {
			out = append(out, wire.PeerStatus{ID: p.id, Addr: p.addr})
		}
	}
	return out
}

// nodeLines are the NODES section: the coordinator, then each
// participant: the coordinator's link to it (marked stale while the
// coordinator is down: never shown as connected then), and its own
// report: reachable, its keys, and what it holds in doubt and for how
// long by its clock. A node line too wide for width puts its own report
// on the lines below.
func (m *watchModel) nodeLines(width int) []string {
	coordState := styleDown.Render("down")
	if m.up {
		coordState = styleUp.Render("up")
	}
	rows := [][]string{{cell(orDash(m.coordID)), "coordinator", cell(orDash(m.coordAddr)), coordState}}
	owns := []string{""}
	for _, p := range m.peers {
		var link string
		switch {
		case !p.linkKnown:
			link = styleFaint.Render("link unknown")
		case !m.up && p.connected:
			link = styleFaint.Render("was connected (stale)")
		case !m.up:
			link = styleFaint.Render("was not connected (stale)")
		case p.connected:
			link = styleUp.Render("connected")
		default:
			link = styleDown.Render("not connected")
		}
		role := "participant"
		if p.endpoint && p.id == p.addr && (p.reachable == nil || !*p.reachable) {
			// An endpoint that never answered: its role is not known.
			role, link = "node", styleFaint.Render("-")
		}
		rows = append(rows, []string{cell(p.id), role, cell(p.addr), link})
		owns = append(owns, m.ownText(p))
	}
	var out []string
	for i, r := range columns(rows) {
		line := "  " + r
		switch {
		case owns[i] == "":
		case width <= 0 || lipgloss.Width(line)+2+lipgloss.Width(owns[i]) <= width:
			line += "  " + owns[i]
		default:
			out = append(out, line)
			line = "      " + owns[i]
		}
		out = append(out, line)
	}
	return out
}

// ownText is what a participant itself last reported.
func (m *watchModel) ownText(p *peerView) string {
	switch {
	case p.reachable == nil:
		return styleFaint.Render("not polled yet")
	case !*p.reachable:
		return styleDown.Render("unreachable") + " " + cell(p.err)
	}
	s := styleUp.Render("reachable") + fmt.Sprintf(" %d keys", p.keys)
	if len(p.own) == 0 {
		return s
	}
	ids := make([]string, 0, len(p.own))
	for _, t := range p.own {
		d := cell(t.TxID) + " " + string(t.State)
		if t.Prepared > 0 && p.ownNow >= t.Prepared {
			d += " for " + showAge(time.Duration(p.ownNow-t.Prepared))
		}
		ids = append(ids, d)
	}
	return s + ", " + styleDoubt.Render("in doubt: "+strings.Join(ids, ", "))
}
