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
// limit). interval is the refresh period, for the header. Long lines wrap
// (a node's own view, the figures) rather than run off the edge; the rows
// left go first to the transactions in flight, then to recent outcomes.
func renderScreen(m *watchModel, width, height int, interval time.Duration) string {
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }

	add(fitParts(width, styleTitle.Render("txcli watch")+"  "+fmt.Sprintf("coordinator %s at %s", cell(orDash(m.coordID)), cell(orDash(m.coordAddr))),
		m.lastPoll.Format("15:04:05"), fmt.Sprintf("refresh %v", interval), "q quits"))
	switch {
	case m.polls == 0:
		add(styleFaint.Render("connecting..."))
	case !m.up:
		for _, l := range wrap(width, fmt.Sprintf("COORDINATOR UNREACHABLE for %s: %s. Retrying; below: each node's own report, the coordinator's last one marked stale.",
			showAge(m.lastPoll.Sub(m.downSince)), cell(m.downErr))) {
			add(styleBanner.Render(l))
		}
	}
	add("")
	add(styleHead.Render("NODES"))
	add(m.nodeLines(width)...)
	add("")
	figures := wrap(width, "FIGURES  "+statsText(m.stats(m.lastPoll)))
	figures[0] = styleHead.Render("FIGURES") + strings.TrimPrefix(figures[0], "FIGURES")
	add(figures...)
	add("")

	// Transactions still moving: undecided, or decided with a participant
	// that has not acknowledged. Newest last, like the coordinator's list.
	live := m.live()
	recent := min(len(m.recent), maxRecentShown)
	room := len(live)
	if height > 0 {
		// Rows left once the headings (in flight, its table head, a blank
		// line, recent outcomes) are drawn: in flight first, keeping a few
		// for the outcomes.
		avail := max(1, height-len(lines)-4)
		if len(live)+recent > avail {
			recent = min(recent, max(2, avail/4))
			room = max(1, avail-recent)
			if len(live) > room {
				room = max(1, room-1) // the "... and N older" line
			}
		}
	}
	title := fmt.Sprintf("IN FLIGHT (%d)", len(live))
	if !m.up && m.polls > 0 {
		title += " as last reported (stale)"
	}
	add(styleHead.Render(title))
	if len(live) > 0 {
		add(m.liveLines(live, room)...)
	}
	add("")
	add(styleHead.Render("RECENT OUTCOMES"))
	add(m.recentLines(recent)...)

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

// liveLines are the in-flight table: the newest room transactions.
func (m *watchModel) liveLines(live []*txView, room int) []string {
	members := m.memberIDs()
	rows := [][]string{append([]string{"TX", "PROTO", "STATE", "AGE"}, members...)}
	shown := live
	if len(shown) > room {
		shown = shown[len(shown)-room:]
	}
	for _, tv := range shown {
		t := tv.st
		row := []string{cell(t.TxID), cell(string(t.Protocol)), styleState(t.State), showAge(m.age(tv))}
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
	var out []string
	for _, r := range columns(rows) {
		out = append(out, "  "+r)
	}
	if n := len(live) - len(shown); n > 0 {
		out = append(out, styleFaint.Render(fmt.Sprintf("  ... and %d older", n)))
	}
	return out
}

// age is how long a transaction has run: by the coordinator's clock when
// it says when it began, else since watch first saw it.
func (m *watchModel) age(tv *txView) time.Duration {
	if tv.st.Started > 0 && m.coordNow >= tv.st.Started {
		return time.Duration(m.coordNow - tv.st.Started)
	}
	return m.lastPoll.Sub(tv.seen)
}

// recentLines are the newest n outcomes, newest first, at the time each
// was decided.
func (m *watchModel) recentLines(n int) []string {
	var rows [][]string
	for i := len(m.recent) - 1; i >= len(m.recent)-n; i-- {
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
	var out []string
	for _, r := range columns(rows) {
		out = append(out, "  "+r)
	}
	return out
}

// fitParts joins parts three spaces apart, leaving out the trailing ones
// that would make the line wider than width (the first always stays).
func fitParts(width int, parts ...string) string {
	line := parts[0]
	for _, p := range parts[1:] {
		next := line + "   " + p
		if width > 0 && lipgloss.Width(next) > width {
			break
		}
		line = next
	}
	return line
}

// wrap breaks s (plain text: style each line afterwards) into lines of
// at most width, at spaces, the lines after the first indented by four (0:
// no limit). A word longer than a line is left to the screen's cut.
func wrap(width int, s string) []string {
	if width <= 0 || lipgloss.Width(s) <= width {
		return []string{s}
	}
	var out []string
	line := ""
	for _, w := range strings.Split(s, " ") {
		switch {
		case line == "":
			line = w
		case lipgloss.Width(line+" "+w) <= width:
			line += " " + w
		default:
			out = append(out, line)
			line = "    " + w
		}
	}
	return append(out, line)
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
