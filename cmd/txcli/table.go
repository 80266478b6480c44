package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/txd/txd/wire"
)

// table writes aligned, indented rows on flush.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintf(t.tw, "  %s\n", strings.Join(cells, "\t"))
}

// flush writes the rows, without the padding of empty last cells.
func (t *table) flush() {
	t.tw.Flush()
	for line := range strings.Lines(t.buf.String()) {
		fmt.Fprintln(t.w, strings.TrimRight(line, " \n"))
	}
	t.buf.Reset()
}

// stateNote explains a shown state a person may wonder about.
func stateNote(s string) string {
	switch s {
	case string(wire.StateInit):
		return "prepare sent, waiting for the votes"
	case string(wire.StateReady):
		return "voted yes, waiting for the outcome: blocked/in doubt"
	case string(wire.StatePrecommitted):
		return "pre-committed (3PC), waiting for the final commit: in doubt"
	case stateShownUnknown:
		return "state not known (no answer yet, or no record: presumed abort)"
	case notMember:
		return "not a participant of this transaction"
	case markHeuristic, markDamage:
		return heuristicNote(s)
	case markCoordOnly:
		return "as the coordinator recorded it, not confirmed by the participant (unreachable, or it no longer lists the transaction)"
	}
	return ""
}

const (
	stateShownUnknown = "?"
	notMember         = "-"
)

// showState is a state for a table cell.
func showState(s wire.State) string {
	if s == wire.StateUnknown {
		return stateShownUnknown
	}
	return cell(string(s))
}

// legend explains, one line each and in a fixed order, the states among
// shown that need explaining.
func legend(w io.Writer, shown map[string]bool) {
	for _, s := range []string{string(wire.StateInit), string(wire.StateReady), string(wire.StatePrecommitted), stateShownUnknown, notMember, markHeuristic, markDamage, markCoordOnly} {
		if shown[s] {
			fmt.Fprintf(w, "  %s: %s\n", s, stateNote(s))
		}
	}
}

// cell makes a string from the network safe for a table cell: quoted when
// empty, padded with spaces or holding control characters.
func cell(s string) string {
	if s == "" || strings.TrimSpace(s) != s || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// writeStore prints a store as KEY VALUE rows, keys sorted.
func writeStore(w io.Writer, store map[string]string) {
	if len(store) == 0 {
		fmt.Fprintln(w, "  (empty)")
		return
	}
	keys := make([]string, 0, len(store))
	for k := range store {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t := newTable(w)
	for _, k := range keys {
		t.row(cell(k), cell(store[k]))
	}
	t.flush()
}

// writeStoreOf prints a participant's store: whole when its status holds
// it, else its summary and how to read its keys (addr: the participant's
// address as the user gave it, for the command).
func writeStoreOf(w io.Writer, st *wire.Status, addr string) {
	if !st.StoreTruncated {
		writeStore(w, st.Store)
		return
	}
	sum := summaryOf(st)
	fmt.Fprintf(w, "  %d keys, %s of keys and values: too many to show here\n", sum.Keys, byteCount(sum.KeyBytes+sum.ValueBytes))
	fmt.Fprintf(w, "  read them with: txcli --participant %s get KEY...  or  scan --prefix P --limit N\n", addr)
}

// byteCount is n bytes for a person: "512 B", "1.5 KiB", "3.2 GiB".
func byteCount(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// writeParticipant prints a participant's status (addr: its address as
// the user gave it).
func writeParticipant(w io.Writer, st *wire.Status, addr string) {
	fmt.Fprintf(w, "%s %s\n", roleName(st.Role), cell(st.NodeID))
	fmt.Fprintln(w, "STORE")
	writeStoreOf(w, st, addr)
	fmt.Fprintln(w, "TRANSACTIONS")
	if len(st.Transactions) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	withReason := slices.ContainsFunc(st.Transactions, func(t wire.TxStatus) bool { return t.Reason != "" })
	shown := map[string]bool{}
	t := newTable(w)
	head := []string{"ID", "PROTOCOL", "STATE"}
	if withReason {
		head = append(head, "REASON")
	}
	t.row(head...)
	for _, tx := range st.Transactions {
		r := []string{cell(tx.TxID), cell(string(tx.Protocol)), txState(tx)}
		if withReason {
			r = append(r, oneLine(tx.Reason)) // "" still ends the STATE cell
		}
		shown[showState(tx.State)] = true
		noteHeuristic(shown, tx)
		t.row(r...)
	}
	t.flush()
	legend(w, shown)
}

// writeCoordinator prints the coordinator's status, then each
// participant's store (peers[i] belongs to st.Participants[i]).
func writeCoordinator(w io.Writer, st *wire.Status, peers []*peerStatus) {
	fmt.Fprintf(w, "coordinator %s\n", cell(st.NodeID))
	fmt.Fprintln(w, "PARTICIPANTS")
	if len(st.Participants) == 0 {
		fmt.Fprintln(w, "  (none)")
	} else {
		t := newTable(w)
		t.row("ID", "ADDR", "CONNECTED", "REACHABLE")
		for i, p := range st.Participants {
			reach := "-"
			if i < len(peers) && peers[i] != nil {
				reach = yesNo(peers[i].err == nil)
			}
			t.row(cell(p.ID), cell(p.Addr), yesNo(p.Connected), reach)
		}
		t.flush()
	}

	fmt.Fprintln(w, "TRANSACTIONS")
	if len(st.Transactions) == 0 {
		fmt.Fprintln(w, "  (none)")
	} else {
		cols := memberColumns(st)
		shown := map[string]bool{}
		t := newTable(w)
		head := []string{"ID", "PROTOCOL", "STATE"}
		for _, id := range cols {
			head = append(head, cell(id))
		}
		t.row(head...)
		own := ownStates(st, peers)
		for _, tx := range st.Transactions {
			r := []string{cell(tx.TxID), cell(string(tx.Protocol)), txState(tx)}
			shown[showState(tx.State)] = true
			noteHeuristic(shown, tx)
			for _, id := range cols {
				s, ok := tx.Participants[id]
				c := notMember
				switch mine, reported := own[id][tx.TxID]; {
				case reported:
					// What the participant itself applied.
					c = txState(mine)
					shown[showState(mine.State)] = true
					noteHeuristic(shown, mine)
				case ok:
					c = showState(s) + markCoordOnly
					shown[showState(s)], shown[markCoordOnly] = true, true
				}
				shown[c] = true
				r = append(r, c)
			}
			t.row(r...)
		}
		t.flush()
		legend(w, shown)
		for _, tx := range st.Transactions {
			if tx.Reason != "" {
				fmt.Fprintf(w, "  %s: %s\n", cell(tx.TxID), oneLine(tx.Reason))
			}
		}
	}

	for i, p := range st.Participants {
		if i >= len(peers) || peers[i] == nil {
			continue
		}
		fmt.Fprintln(w)
		if peers[i].err != nil {
			fmt.Fprintf(w, "participant %s: down: %s\n", cell(p.ID), oneLine(peers[i].err.Error()))
			continue
		}
		fmt.Fprintf(w, "participant %s\n", cell(p.ID))
		writeStoreOf(w, peers[i].st, peers[i].addr)
		writeInDoubt(w, peers[i].st.Transactions)
	}
}

// writeInDoubt lists a participant's transactions that are not final.
func writeInDoubt(w io.Writer, txs []wire.TxStatus) {
	var open []string
	for _, tx := range txs {
		if !tx.State.Final() {
			open = append(open, fmt.Sprintf("%s (%s)", cell(tx.TxID), showState(tx.State)))
		}
	}
	if len(open) > 0 {
		fmt.Fprintf(w, "  not final: %s\n", strings.Join(open, ", "))
	}
}

// memberColumns are the participant ids for the transaction table: the
// coordinator's participants in its order, then any other id a transaction
// names, sorted.
func memberColumns(st *wire.Status) []string {
	var cols []string
	seen := map[string]bool{}
	for _, p := range st.Participants {
		if !seen[p.ID] {
			seen[p.ID] = true
			cols = append(cols, p.ID)
		}
	}
	var extra []string
	for _, tx := range st.Transactions {
		for id := range tx.Participants {
			if !seen[id] {
				seen[id] = true
				extra = append(extra, id)
			}
		}
	}
	slices.Sort(extra)
	return append(cols, extra...)
}

func roleName(r wire.Role) string {
	if r == "" {
		return "node"
	}
	return cell(string(r))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// markCoordOnly marks a participant's state in the cluster view that only
// the coordinator reports.
const markCoordOnly = "*"

// ownStates indexes the participants' own statuses: participant id →
// transaction id → its own entry (peers[i] belongs to st.Participants[i]).
func ownStates(st *wire.Status, peers []*peerStatus) map[string]map[string]wire.TxStatus {
	out := map[string]map[string]wire.TxStatus{}
	for i, p := range st.Participants {
		if i >= len(peers) || peers[i] == nil || peers[i].err != nil {
			continue
		}
		txs := make(map[string]wire.TxStatus, len(peers[i].st.Transactions))
		for _, t := range peers[i].st.Transactions {
			txs[t.TxID] = t
		}
		out[p.ID] = txs
	}
	return out
}
