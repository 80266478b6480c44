package main

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/txd/txd/wire"
)

// The terminal view of watch: the model drawn as one screen. Pure: the
// same model and size give the same text.

var (
	styleTitle   = lipgloss.NewStyle().Bold(true)
	styleHead    = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("4")) // not underlined: lipgloss underlines rune by rune
	styleBanner  = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("15")).Background(lipgloss.Color("1"))
	styleUp      = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	styleDown    = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1"))
	styleDoubt   = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("0")).Background(lipgloss.Color("3"))
	styleFaint   = lipgloss.NewStyle().Faint(true)
	styleCommit  = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	styleAbort   = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	styleWaiting = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
)

// maxRecentShown is how many recent outcomes the screen lists.
const maxRecentShown = 8

// renderScreen draws the model for a terminal of width × height (0: no
// limit). interval is the refresh period, for the header.
func renderScreen(m *watchModel, width, height int, interval time.Duration) string {
	var lines []string
	add := func(s string) { lines = append(lines, s) }

	add(styleTitle.Render("txcli watch") + fmt.Sprintf("  coordinator %s at %s   %s   refresh %v   q quits",
		cell(orDash(m.coordID)), cell(m.coordAddr), m.lastPoll.Format("15:04:05"), interval))
	switch {
	case m.polls == 0:
		add(styleFaint.Render("connecting..."))
	case !m.up:
		add(styleBanner.Render(fmt.Sprintf(" COORDINATOR UNREACHABLE for %s: %s. Retrying; below is the last state it reported. ",
			showAge(m.lastPoll.Sub(m.downSince)), cell(m.downErr))))
	}
	add("")

	add(styleHead.Render("NODES"))
	coordState := styleDown.Render("down")
	if m.up {
		coordState = styleUp.Render("up")
	}
	nodes := [][]string{{cell(orDash(m.coordID)), "coordinator", cell(m.coordAddr), coordState, ""}}
	for _, p := range m.peers {
		link := styleDown.Render("not connected")
		if p.connected {
			link = styleUp.Render("connected")
		}
		var own string
		switch {
		case p.reachable == nil:
			own = styleFaint.Render("not polled yet")
		case !*p.reachable:
			own = styleDown.Render("unreachable") + " " + cell(p.err)
		default:
			own = styleUp.Render("reachable") + fmt.Sprintf(" %d keys", p.keys)
			if len(p.own) > 0 {
				ids := make([]string, 0, len(p.own))
				for _, t := range p.own {
					ids = append(ids, cell(t.TxID)+" "+string(t.State))
				}
				own += ", " + styleDoubt.Render("waiting on "+strings.Join(ids, ", "))
			}
		}
		nodes = append(nodes, []string{cell(p.id), "participant", cell(p.addr), link, own})
	}
	for _, row := range columns(nodes) {
		add("  " + row)
	}
	add("")

	st := m.stats(m.lastPoll)
	add(styleHead.Render("FIGURES") + "  " + statsText(st))
	add("")

	// Transactions still moving: undecided, or decided with a participant
	// that has not acknowledged. Newest last, like the coordinator's list.
	live := m.live()
	members := m.memberIDs()
	recent := min(len(m.recent), maxRecentShown)
	room := len(live)
	if height > 0 {
		// Everything else: what is above, two headings, a table head,
		// the outcomes, a blank line and the "more" line.
		room = max(1, height-len(lines)-recent-6)
	}
	title := fmt.Sprintf("IN FLIGHT (%d)", len(live))
	if !m.up && m.polls > 0 {
		title += " as last reported"
	}
	add(styleHead.Render(title))
	if len(live) > 0 {
		rows := [][]string{append([]string{"TX", "PROTO", "STATE", "AGE"}, members...)}
		shown := live
		if len(shown) > room {
			shown = shown[len(shown)-room:]
		}
		for _, tv := range shown {
			t := tv.st
			row := []string{cell(t.TxID), cell(string(t.Protocol)), styleState(t.State), showAge(m.lastPoll.Sub(tv.seen))}
			for _, id := range members {
				s, ok := t.Participants[id]
				switch {
				case !ok:
					row = append(row, notMember)
				case func() bool { _, d := m.doubtOf(t.TxID, id, s); return d }():
					row = append(row, styleDoubt.Render(showState(s)+" !"))
				default:
					row = append(row, styleState(s))
				}
			}
			rows = append(rows, row)
		}
		for _, r := range columns(rows) {
			add("  " + r)
		}
		if n := len(live) - len(shown); n > 0 {
			add(styleFaint.Render(fmt.Sprintf("  ... and %d older", n)))
		}
	}
	add("")

	add(styleHead.Render("RECENT OUTCOMES"))
	var rows [][]string
	for i := len(m.recent) - 1; i >= len(m.recent)-recent; i-- {
		o := m.recent[i]
		lat := ""
		if o.latency > 0 {
			lat = showLatency(o.latency)
		}
		reason := ""
		if o.reason != "" {
			reason = cell(o.reason)
		}
		rows = append(rows, []string{o.at.Format("15:04:05.000"), cell(o.id), cell(string(o.protocol)), styleState(o.outcome), lat, reason})
	}
	for _, r := range columns(rows) {
		add("  " + r)
	}

	out := strings.Join(lines, "\n")
	if width > 0 {
		out = lipgloss.NewStyle().MaxWidth(width).Render(out)
	}
	if height > 0 {
		if ls := strings.Split(out, "\n"); len(ls) > height {
			out = strings.Join(ls[:height], "\n")
		}
	}
	return out
}

// memberIDs are the participants for the table's columns: the
// coordinator's, else any a transaction names.
func (m *watchModel) memberIDs() []string {
	ids := make([]string, 0, len(m.peers))
	seen := map[string]bool{}
	for _, p := range m.peers {
		ids = append(ids, p.id)
		seen[p.id] = true
	}
	for _, id := range m.order {
		for _, p := range sortedKeys(m.txs[id].st.Participants) {
			if !seen[p] {
				seen[p] = true
				ids = append(ids, p)
			}
		}
	}
	return ids
}

func allFinal(ps map[string]wire.State) bool {
	for _, s := range ps {
		if !s.Final() {
			return false
		}
	}
	return true
}

func styleState(s wire.State) string {
	text := showState(s)
	switch s {
	case wire.StateCommitted:
		return styleCommit.Render(text)
	case wire.StateAborted:
		return styleAbort.Render(text)
	case wire.StateReady, wire.StatePrecommitted:
		return styleWaiting.Render(text)
	}
	return text
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// columns lays rows out in left-aligned columns two spaces apart,
// measuring cells by their printed width (styles add escape codes).
func columns(rows [][]string) []string {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], lipgloss.Width(c))
		}
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-lipgloss.Width(c)+2))
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}
