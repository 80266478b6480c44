package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/txd/txd/wire"
)

// renderTrace draws a traceView as a text sequence diagram: one column per
// node, one row per event, time running down. A row shows the event in the
// columns (an arrow from sender to receiver for a message sent, a dot where
// a message arrived, a block for a log record) and in words on the right.
func renderTrace(w io.Writer, v traceView) {
	title := "Transaction " + cell(v.ID)
	if v.Protocol != "" {
		title += " (" + v.Protocol + ")"
	}
	fmt.Fprintln(w, title)
	if v.known() {
		fmt.Fprintf(w, "Times are relative to the first event, %s; each node's first event by its own clock:\n", v.Start)
	}
	for _, n := range v.Nodes {
		switch {
		case !n.Reachable:
			fmt.Fprintf(w, "  %-8s not reachable at %s: %s\n", cell(nodeLabel(n)), cell(n.Addr), n.Error)
		case !n.Known:
			fmt.Fprintf(w, "  %-8s no record of %s\n", cell(n.ID), cell(v.ID))
		default:
			line := fmt.Sprintf("  %-8s %s", cell(n.ID), n.First)
			if n.Restarted {
				line += fmt.Sprintf("  (restarted %s: messages before that were not recorded; its log records were)", n.Since)
			}
			if n.Dropped > 0 {
				line += fmt.Sprintf("  (%d events not kept)", n.Dropped)
			}
			fmt.Fprintln(w, line)
		}
	}
	if !v.known() {
		return
	}
	fmt.Fprintln(w)

	cols := traceColumns(v)
	width := 16
	for _, c := range cols {
		width = max(width, utf8.RuneCountInString(c)+3)
	}
	down := map[string]bool{}
	for _, n := range v.Nodes {
		if !n.Reachable && n.ID != "" {
			down[n.ID] = true
		}
	}
	const timeWidth = 11
	head := make([]rune, laneWidth(cols, width))
	for i := range head {
		head[i] = ' '
	}
	for i, c := range cols {
		copy(head[i*width:], []rune(c))
	}
	fmt.Fprintf(w, "%*s  %s\n", timeWidth, "time", strings.TrimRight(string(head), " "))

	rows := traceRows(v)
	for _, r := range rows {
		lane := drawLanes(cols, width, down, r)
		fmt.Fprintf(w, "%*s  %s  %s\n", timeWidth, r.at, lane, r.text)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "──M──▶ sent  ● received  ○ sent to the client (its reply)  ■ [force R] record durable (fsync)")
	fmt.Fprintln(w, "□ [log R] record written, not synced; (from log): read back from the node's log after a restart.")
	fmt.Fprintln(w, "Each node's clock; hosts' clocks may differ: a message is listed after its send even when stamped before it.")
}

// laneWidth is the width of the columns: the last needs room only for a
// record's label.
func laneWidth(cols []string, width int) int {
	return max(len(cols)-1, 0)*width + max(14, utf8.RuneCountInString(cols[len(cols)-1])+2)
}

// nodeLabel names a node that did not answer.
func nodeLabel(n traceNode) string {
	if n.ID != "" {
		return n.ID
	}
	return n.Addr
}

// traceColumns are the nodes in the order asked (the coordinator first),
// then any other node the events mention (not "client").
func traceColumns(v traceView) []string {
	var cols []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && id != "client" && !seen[id] {
			seen[id] = true
			cols = append(cols, cell(id))
		}
	}
	for _, n := range v.Nodes {
		if n.ID != "" {
			add(n.ID)
		}
	}
	for _, e := range v.Events {
		add(e.Node)
		add(e.Peer)
	}
	return cols
}

// traceRow is one line of the diagram.
type traceRow struct {
	at   string // "+12µs"
	node string // the node the event happened on (a column)
	ev   *traceEvent
	text string
}

// traceRows turns the events into rows, adding a "restarted" row where a
// node that replayed its log began recording.
func traceRows(v traceView) []traceRow {
	var restarts []traceNode // by restart time; each shown once
	for _, n := range v.Nodes {
		if n.Restarted {
			restarts = append(restarts, n)
		}
	}
	slices.SortStableFunc(restarts, func(a, b traceNode) int { return cmp.Compare(a.SinceNS, b.SinceNS) })
	var rows []traceRow
	for i := range v.Events {
		e := &v.Events[i]
		restarts = slices.DeleteFunc(restarts, func(n traceNode) bool {
			if e.TimeNS < n.SinceNS {
				return false
			}
			rows = append(rows, traceRow{at: offset(n.SinceNS - v.StartNS), node: cell(n.ID),
				text: cell(n.ID) + " restarted here: messages before were not recorded"})
			return true
		})
		rows = append(rows, traceRow{at: offset(e.TimeNS - v.StartNS), node: cell(e.Node), ev: e, text: describeEvent(e)})
	}
	for _, n := range restarts { // after the transaction's last event
		rows = append(rows, traceRow{at: offset(n.SinceNS - v.StartNS), node: cell(n.ID),
			text: cell(n.ID) + " restarted here: messages before were not recorded"})
	}
	return rows
}

// describeEvent is an event in words, the acting node first.
func describeEvent(e *traceEvent) string {
	node, what, peer := cell(e.Node), cell(e.What), cell(e.Peer)
	var s string
	switch e.Kind {
	case wire.TraceSend:
		s = fmt.Sprintf("%s ──%s──▶ %s", node, what, peer)
	case wire.TraceRecv:
		s = fmt.Sprintf("%s ◀──%s── %s", node, what, peer)
	case wire.TraceForce:
		s = fmt.Sprintf("%s [force %s]", node, what)
	case wire.TraceLog:
		s = fmt.Sprintf("%s [log %s]", node, what)
	default:
		s = fmt.Sprintf("%s %s %s %s", node, cell(e.Kind), what, peer)
	}
	if e.Detail != "" {
		s += ": " + oneLine(e.Detail)
	}
	if e.FromLog {
		s += " (from log)"
	}
	if e.EarlyUS > 0 {
		s += fmt.Sprintf(" (stamped %s before its send: the clocks differ)", offset(int64(e.EarlyUS * 1e3))[1:])
	}
	return s
}

// drawLanes draws one row's columns: every node's lifeline, and the event.
func drawLanes(cols []string, width int, down map[string]bool, r traceRow) string {
	line := make([]rune, laneWidth(cols, width))
	for i := range line {
		line[i] = ' '
	}
	idx := map[string]int{}
	for i, c := range cols {
		idx[c] = i
		line[i*width] = '│'
		if down[c] {
			line[i*width] = '┊'
		}
	}
	at := func(col int) int { return col * width }
	me, ok := idx[r.node]
	if !ok {
		return string(line)
	}
	put := func(pos int, s string) { // write s from pos, within the line
		for _, ch := range s {
			if pos >= len(line) {
				return
			}
			line[pos] = ch
			pos++
		}
	}
	e := r.ev
	switch {
	case e == nil: // a restart
		line[at(me)] = '╪'
	case e.Kind == wire.TraceSend:
		to, ok := idx[cell(e.Peer)]
		if !ok || to == me {
			line[at(me)] = '○'
			break
		}
		lo, hi := min(me, to), max(me, to)
		for p := at(lo) + 1; p < at(hi); p++ {
			line[p] = '─'
		}
		label := clip(cell(e.What), at(hi)-at(lo)-5)
		if to > me {
			line[at(me)] = '├'
			line[at(to)-1] = '▶'
			put(at(me)+2, label)
		} else {
			line[at(me)] = '┤'
			line[at(to)+1] = '◀'
			put(at(to)+3, label)
		}
	case e.Kind == wire.TraceRecv:
		line[at(me)] = '●'
	case e.Kind == wire.TraceForce:
		line[at(me)] = '■'
		put(at(me)+2, clip(cell(e.What), min(width-3, len(line)-at(me)-2)))
	case e.Kind == wire.TraceLog:
		line[at(me)] = '□'
		put(at(me)+2, clip(cell(e.What), min(width-3, len(line)-at(me)-2)))
	}
	return string(line)
}

// clip shortens s to n runes, marking the cut.
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}

// offset is a time after the first event: µs below a millisecond, then ms,
// then s.
func offset(ns int64) string {
	sign := "+"
	if ns < 0 {
		sign, ns = "-", -ns
	}
	d := time.Duration(ns)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%s%dµs", sign, d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%s%.3fms", sign, float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%s%.3fs", sign, d.Seconds())
}
