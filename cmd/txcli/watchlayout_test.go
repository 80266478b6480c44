package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/txd/txd/wire"
)

// busyModel is a cluster under load: three nodes on long addresses, B
// holding two transactions in doubt, 15 transactions in flight and 20
// recent outcomes.
func busyModel() *watchModel {
	m := newWatchModel("127.0.0.1:40000", time.Second)
	var txs []wire.TxStatus
	for i := range 20 {
		x := tx(fmt.Sprintf("DONE-%02d", i), wire.StateCommitted, wire.StateCommitted, wire.StateCommitted)
		txs = append(txs, x)
	}
	st := coordStatus(1, 20, 0, txs...)
	st.Participants = []wire.PeerStatus{{ID: "B", Addr: "127.0.0.1:40001", Connected: true}, {ID: "C", Addr: "127.0.0.1:40002", Connected: true}}
	m.apply(watchPoll{at: at(0), coord: st})
	for i := range 15 {
		st.Transactions = append(st.Transactions, tx(fmt.Sprintf("RUN-%02d", i), wire.StateInit, wire.StateReady, wire.StateInit))
	}
	st.Committed = 4000
	b := &wire.Status{NodeID: "B", Role: wire.RoleParticipant, Now: int64(13 * time.Second), Transactions: []wire.TxStatus{
		{TxID: "RUN-00", State: wire.StateReady, Prepared: int64(time.Second)}, {TxID: "RUN-01", State: wire.StateReady, Prepared: int64(time.Second)}}}
	m.apply(watchPoll{at: at(2 * time.Second), coord: st, peers: map[string]peerPoll{"B": {st: b}, "C": {st: &wire.Status{NodeID: "C", Role: wire.RoleParticipant}}}})
	return m
}

// Issue 16: at 80×24 the figures and node lines are not cut (they wrap)
// and the transactions in flight get the rows; at 120×40 too.
func TestRenderScreenSizes(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		screen := renderScreen(busyModel(), w, h, 200*time.Millisecond)
		ls := strings.Split(screen, "\n")
		if len(ls) > h {
			t.Errorf("%dx%d: %d lines", w, h, len(ls))
		}
		for _, l := range ls {
			if lipgloss.Width(l) > w {
				t.Errorf("%dx%d: line wider than %d: %q", w, h, w, l)
			}
		}
		flat := strings.Join(strings.Fields(stripSGR(screen)), " ")
		for _, want := range []string{"0 in doubt", "in doubt: RUN-00 READY for 12s, RUN-01 READY for 12s", "127.0.0.1:40002", "RECENT OUTCOMES"} {
			if !strings.Contains(flat, want) {
				t.Errorf("%dx%d: screen lacks %q:\n%s", w, h, want, screen)
			}
		}
		rows := strings.Count(screen, "RUN-") - 2 // less the two in B's line
		if want := min(15, h-19); rows < want {
			t.Errorf("%dx%d: %d transactions in flight shown, want at least %d:\n%s", w, h, rows, want, screen)
		}
	}
}

// Outcome times are when the coordinator decided, not when watch saw it.
func TestWatchOutcomeTimeIsDecisionTime(t *testing.T) {
	m := newWatchModel("h:0", time.Second)
	m.apply(watchPoll{at: at(0), coord: coordStatus(1, 0, 0)})
	x := tx("T1", wire.StateCommitted, wire.StateCommitted, wire.StateCommitted)
	x.Started, x.Decided = int64(100*time.Second), int64(101*time.Second)
	st := coordStatus(1, 1, 0, x)
	st.Now = int64(104 * time.Second) // decided 3 s before this status
	evs := m.apply(watchPoll{at: at(10 * time.Second), coord: st})
	if o := m.recent[len(m.recent)-1]; !o.at.Equal(at(7 * time.Second)) {
		t.Errorf("outcome at %v, want %v", o.at, at(7*time.Second))
	}
	for _, e := range evs {
		if e.Event == evOutcome && (e.DecidedAt == nil || !e.DecidedAt.Equal(at(7*time.Second))) {
			t.Errorf("outcome event decided_at %v", e.DecidedAt)
		}
	}
	if s := renderScreen(m, 100, 30, time.Second); !strings.Contains(s, "03:04:12.000  T1") {
		t.Errorf("recent outcome not at its decision time:\n%s", s)
	}
}

// Issue 16: with the coordinator unreachable from the start, --endpoints
// still shows every participant, what it holds in doubt and since when;
// the coordinator's last word on its links is marked stale, never shown
// as connected.
func TestWatchEndpointsWithoutCoordinator(t *testing.T) {
	ready := func(id string) *wire.Status {
		return &wire.Status{NodeID: id, Role: wire.RoleParticipant, Now: int64(20 * time.Second),
			Transactions: []wire.TxStatus{{TxID: "TX1", Protocol: wire.TwoPC, State: wire.StateReady, Prepared: int64(5 * time.Second)}}}
	}
	m := newWatchModel("", 500*time.Millisecond)
	down := errors.New("no coordinator among --endpoints answered")
	nodes := []endpointPoll{{addr: "b:1", st: ready("B")}, {addr: "c:1", st: ready("C")}, {addr: "d:1", err: errors.New("connection refused")}}
	m.apply(watchPoll{at: at(0), err: down, nodes: nodes})
	evs := m.apply(watchPoll{at: at(time.Second), err: down, nodes: nodes})
	var doubts []string
	for _, e := range evs {
		if e.Event == evInDoubt {
			doubts = append(doubts, e.Participant)
		}
	}
	if strings.Join(doubts, ",") != "B,C" {
		t.Errorf("in-doubt events for %v, want B and C: %q", doubts, lines(evs))
	}
	screen := renderScreen(m, 80, 24, time.Second)
	flat := strings.Join(strings.Fields(stripSGR(screen)), " ")
	for _, want := range []string{"B participant b:1 link unknown reachable 0 keys, in doubt: TX1 READY for 15s",
		"C participant c:1", "d:1 node d:1 - unreachable connection refused", "COORDINATOR UNREACHABLE"} {
		if !strings.Contains(flat, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}

	// The coordinator answered once, then went down: its links are stale.
	m = newWatchModel("k:1", time.Second)
	m.apply(watchPoll{at: at(0), coord: coordStatus(1, 0, 0), nodes: []endpointPoll{{addr: "b:1", st: ready("B")}}})
	m.apply(watchPoll{at: at(time.Second), err: errors.New("connection lost"), nodes: []endpointPoll{{addr: "b:1", st: ready("B")}}})
	screen = renderScreen(m, 120, 40, time.Second)
	screen = stripSGR(screen)
	if !strings.Contains(screen, "was connected (stale)") ||
		strings.Contains(strings.NewReplacer("was connected", "", "was not connected", "").Replace(screen), "connected") {
		t.Errorf("stale link shown as connected:\n%s", screen)
	}
	if !strings.Contains(screen, "in doubt: TX1 READY for 15s") || strings.Count(screen, "participant") != 2 {
		t.Errorf("B not shown once with its doubt:\n%s", screen)
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// stripSGR drops the style escape codes from a rendered screen.
func stripSGR(s string) string { return sgr.ReplaceAllString(s, "") }
