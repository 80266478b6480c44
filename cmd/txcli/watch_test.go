package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func coordStatus(boot int64, committed, aborted uint64, txs ...wire.TxStatus) *wire.Status {
	return &wire.Status{NodeID: "COORD", Role: wire.RoleCoordinator, Boot: boot, Committed: committed, Aborted: aborted,
		Participants: []wire.PeerStatus{{ID: "B", Addr: "h:1", Connected: true}, {ID: "C", Addr: "h:2"}},
		Transactions: txs}
}

func tx(id string, s wire.State, b, c wire.State) wire.TxStatus {
	return wire.TxStatus{TxID: id, Protocol: wire.TwoPC, State: s, Participants: map[string]wire.State{"B": b, "C": c}}
}

// lines renders events as watch prints them on a pipe.
func lines(evs []watchEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, eventLine(e))
	}
	return out
}

func wantLines(t *testing.T, step string, got []watchEvent, want ...string) {
	t.Helper()
	g := lines(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n  %s\nwant:\n  %s", step, strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

// The model reports each change once: nodes coming and going,
// transactions moving, outcomes with latency, participants in doubt, and
// the coordinator going down and coming back (restarted).
func TestWatchModelEvents(t *testing.T) {
	m := newWatchModel("h:0", time.Second)
	old := tx("OLD", wire.StateCommitted, wire.StateCommitted, wire.StateCommitted)

	wantLines(t, "down at start", m.apply(watchPoll{at: at(0), err: errors.New("cannot connect: refused")}),
		"03:04:05.000 coordinator down at h:0: cannot connect: refused (retrying)")
	wantLines(t, "still down", m.apply(watchPoll{at: at(200 * time.Millisecond), err: errors.New("again")}))

	t1 := tx("T1", wire.StateInit, wire.StateInit, wire.StateInit)
	wantLines(t, "up", m.apply(watchPoll{at: at(time.Second), coord: coordStatus(1, 5, 0, old, t1)}),
		"03:04:06.000 coordinator COORD up at h:0",
		"03:04:06.000 participant B connected to the coordinator",
		"03:04:06.000 participant C not connected to the coordinator",
		"03:04:06.000 tx T1 2PC INIT B=INIT C=INIT", // OLD is history: not reported
		"03:04:06.000 stats last 0s: 0.0 committed/s, 0.0 aborted/s, no latency sample; 1 in flight, 0 in doubt")
	wantLines(t, "no change", m.apply(watchPoll{at: at(1200 * time.Millisecond), coord: coordStatus(1, 5, 0, old, t1)}))

	t1 = tx("T1", wire.StateInit, wire.StateReady, wire.StateReady)
	store := &wire.Status{NodeID: "B", Role: wire.RoleParticipant, Store: map[string]string{"k": "1"},
		Transactions: []wire.TxStatus{{TxID: "T1", State: wire.StateReady}}}
	wantLines(t, "ready", m.apply(watchPoll{at: at(1400 * time.Millisecond), coord: coordStatus(1, 5, 0, old, t1),
		peers: map[string]peerPoll{"B": {st: store}, "C": {err: errors.New("cannot reach participant")}}}),
		"03:04:06.400 tx T1 2PC INIT B=READY C=READY",
		"03:04:06.400 participant B reachable",
		"03:04:06.400 participant C unreachable: cannot reach participant")
	wantLines(t, "in doubt", m.apply(watchPoll{at: at(2400 * time.Millisecond), coord: coordStatus(1, 5, 0, old, t1)}),
		"03:04:07.400 in-doubt T1: B READY for 1s",
		"03:04:07.400 in-doubt T1: C READY for 1s",
		"03:04:07.400 stats last 1.4s: 0.0 committed/s, 0.0 aborted/s, no latency sample; 1 in flight, 2 in doubt")
	if d, ok := m.doubtOf("T1", "B", wire.StateReady); !ok || !d.since.Equal(at(1400*time.Millisecond)) {
		t.Errorf("doubt of B on T1: %+v %v", d, ok)
	}

	t1 = tx("T1", wire.StateCommitted, wire.StateCommitted, wire.StateReady)
	t1.Started, t1.Decided = 1000, 1000+int64(1500*time.Microsecond)
	wantLines(t, "decided", m.apply(watchPoll{at: at(2600 * time.Millisecond), coord: coordStatus(1, 6, 0, old, t1)}),
		"03:04:07.600 tx T1 2PC COMMITTED B=COMMITTED C=READY",
		"03:04:07.600 outcome T1 2PC COMMITTED in 1.5ms")
	if m.inDoubt() != 1 {
		t.Errorf("in doubt %d, want 1 (C has not acknowledged)", m.inDoubt())
	}

	wantLines(t, "down", m.apply(watchPoll{at: at(3 * time.Second), err: errors.New("connection lost")}),
		"03:04:08.000 coordinator down at h:0: connection lost (retrying)")
	wantLines(t, "still down", m.apply(watchPoll{at: at(3200 * time.Millisecond), err: errors.New("cannot connect")}))

	// Restarted (a new boot): T1 is done, T2 finished while we could not
	// see it (news, not history), its abort has a reason.
	t1 = tx("T1", wire.StateCommitted, wire.StateCommitted, wire.StateCommitted)
	t2 := tx("T2", wire.StateAborted, wire.StateAborted, wire.StateAborted)
	t2.Reason = "B: k would be -1"
	wantLines(t, "back", m.apply(watchPoll{at: at(4 * time.Second), coord: coordStatus(2, 0, 1, old, t1, t2)}),
		"03:04:09.000 coordinator COORD up at h:0",
		"03:04:09.000 tx T1 2PC COMMITTED B=COMMITTED C=COMMITTED",
		"03:04:09.000 tx T2 2PC ABORTED B=ABORTED C=ABORTED",
		"03:04:09.000 outcome T2 2PC ABORTED reason: B: k would be -1",
		"03:04:09.000 stats last 0s: 0.0 committed/s, 0.0 aborted/s, p50 1.5ms p99 1.5ms; 0 in flight, 0 in doubt")
	if len(m.recent) != 3 || m.recent[0].id != "OLD" || m.recent[2].id != "T2" { // OLD: shown, not reported
		t.Errorf("recent outcomes %+v", m.recent)
	}
}

// Throughput comes from the coordinator's counts, exact however many
// transactions finished between polls; latency percentiles from the
// outcomes seen, over the last window only.
func TestWatchModelStats(t *testing.T) {
	m := newWatchModel("h:0", time.Second)
	m.apply(watchPoll{at: at(0), coord: coordStatus(1, 1000, 10)})
	var txs []wire.TxStatus
	for i := range 100 {
		x := tx("L"+string(rune('A'+i%26))+string(rune('a'+i/26)), wire.StateCommitted, wire.StateCommitted, wire.StateCommitted)
		x.Started, x.Decided = 1, 1+int64(time.Duration(i+1)*time.Millisecond)
		txs = append(txs, x)
	}
	m.apply(watchPoll{at: at(2 * time.Second), coord: coordStatus(1, 5000, 30, txs...)})
	st := m.stats(at(2 * time.Second))
	want := watchStats{WindowS: 2, CommittedPerS: 2000, AbortedPerS: 10, P50Us: 50_000, P99Us: 99_000}
	if st != want {
		t.Errorf("stats %+v\nwant %+v", st, want)
	}
	// 11 s later only the newest count samples and no latency remain.
	m.apply(watchPoll{at: at(13 * time.Second), coord: coordStatus(1, 6000, 30, txs...)})
	st = m.stats(at(13 * time.Second))
	want = watchStats{WindowS: 11, CommittedPerS: 90.9, AbortedPerS: 0}
	if st != want {
		t.Errorf("after the window: %+v\nwant %+v", st, want)
	}
	// A restarted coordinator counts from zero: no negative rate.
	m.apply(watchPoll{at: at(14 * time.Second), coord: coordStatus(2, 3, 0)})
	if st := m.stats(at(14 * time.Second)); st.CommittedPerS != 0 || st.WindowS != 0 {
		t.Errorf("after a restart: %+v", st)
	}
}

// With the coordinator down, the participants' own word shows who is
// blocked (2PC's READY).
func TestWatchModelInDoubtWhileCoordinatorDown(t *testing.T) {
	m := newWatchModel("h:0", 500*time.Millisecond)
	m.apply(watchPoll{at: at(0), coord: coordStatus(1, 0, 0)})
	m.apply(watchPoll{at: at(100 * time.Millisecond), err: errors.New("connection lost")})
	ready := &wire.Status{NodeID: "B", Role: wire.RoleParticipant, Transactions: []wire.TxStatus{{TxID: "T9", State: wire.StateReady}}}
	m.apply(watchPoll{at: at(200 * time.Millisecond), err: errors.New("cannot connect"), peers: map[string]peerPoll{"B": {st: ready}}})
	evs := m.apply(watchPoll{at: at(800 * time.Millisecond), err: errors.New("cannot connect"), peers: map[string]peerPoll{"B": {st: ready}}})
	wantLines(t, "blocked", evs, "03:04:05.800 in-doubt T9: B READY for 600ms",
		"03:04:05.800 stats last 0s: 0.0 committed/s, 0.0 aborted/s, no latency sample; 0 in flight, 1 in doubt")
}

// Text from the network never reaches the terminal raw.
func TestWatchLineQuotesControlCharacters(t *testing.T) {
	e := watchEvent{Time: t0, Event: evOutcome, ID: "T\x1b[2J", Protocol: "2PC", Outcome: "ABORTED", Reason: "bad\x1b]0;x\x07"}
	l := eventLine(e)
	if strings.ContainsAny(l, "\x1b\x07") {
		t.Errorf("escape codes in %q", l)
	}
}

// The JSON lines: one object each, with "time" and "event", and the
// documented field names.
func TestWatchJSONShape(t *testing.T) {
	lat := int64(1500)
	var b strings.Builder
	for _, e := range []watchEvent{
		{Time: t0, Event: evCoordinator, ID: "COORD", Addr: "h:0", Up: boolp(false), Error: "connection lost"},
		{Time: t0, Event: evOutcome, ID: "T1", Protocol: "2PC", Outcome: "COMMITTED", LatencyUs: &lat},
		{Time: t0, Event: evStats, Stats: &watchStats{WindowS: 10, CommittedPerS: 1.5}},
	} {
		if err := writeJSON(&b, e); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		`{"time":"2026-01-02T03:04:05Z","event":"coordinator","id":"COORD","addr":"h:0","up":false,"error":"connection lost"}`,
		`{"time":"2026-01-02T03:04:05Z","event":"outcome","id":"T1","protocol":"2PC","outcome":"COMMITTED","latency_us":1500}`,
		`{"time":"2026-01-02T03:04:05Z","event":"stats","stats":{"window_s":10,"committed_per_s":1.5,"aborted_per_s":0,"p50_us":0,"p99_us":0,"in_flight":0,"in_doubt":0}}`,
	}
	if got := strings.TrimSpace(b.String()); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

// The screen shows the nodes, the transactions in flight with in-doubt
// participants marked, the figures and the outcomes, fits the terminal,
// and says so when the coordinator is down.
func TestRenderScreen(t *testing.T) {
	m := newWatchModel("h:0", time.Second)
	t1 := tx("T1", wire.StateInit, wire.StateReady, wire.StateInit)
	t2 := tx("T2", wire.StateAborted, wire.StateAborted, wire.StateAborted)
	t2.Reason = "B: k would be -1"
	m.apply(watchPoll{at: at(0), coord: coordStatus(1, 0, 0, t1)})
	m.apply(watchPoll{at: at(2 * time.Second), coord: coordStatus(1, 0, 1, t1, t2)})
	screen := renderScreen(m, 100, 40, 200*time.Millisecond)
	for _, want := range []string{"coordinator COORD at h:0", "B", "participant", "not connected", "IN FLIGHT (1)",
		"T1", "READY !", "RECENT OUTCOMES", "T2", "ABORTED", "B: k would be -1", "0 in flight"[2:]} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	for _, l := range strings.Split(screen, "\n") {
		if w := lipgloss.Width(l); w > 100 {
			t.Errorf("line wider than 100 (%d): %q", w, l)
		}
	}
	m.apply(watchPoll{at: at(3 * time.Second), err: errors.New("connection lost")})
	m.apply(watchPoll{at: at(5 * time.Second), err: errors.New("cannot connect")})
	screen = renderScreen(m, 100, 0, 200*time.Millisecond)
	if !strings.Contains(screen, "COORDINATOR UNREACHABLE for 2s: connection lost") || !strings.Contains(screen, "IN FLIGHT (1) as last reported") {
		t.Errorf("no banner:\n%s", screen)
	}
	screen = renderScreen(m, 100, 10, 200*time.Millisecond)
	if n := strings.Count(screen, "\n") + 1; n > 10 {
		t.Errorf("%d lines on a 10-line terminal:\n%s", n, screen)
	}
}

func TestWatchUsageErrors(t *testing.T) {
	clearEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"watch"}, "watch needs --coord"},
		{[]string{"--participant", "h:1", "watch"}, "watch needs --coord"},
		{[]string{"--coord", "h:1", "watch", "x"}, "watch takes no arguments"},
		{[]string{"--coord", "h:1", "watch", "--interval", "1ms"}, "--interval must be at least"},
		{[]string{"--coord", "h:1", "watch", "--count", "-1"}, "--count must not be negative"},
		{[]string{"--coord", "h:1", "watch", "--duration", "-1s"}, "--duration must not be negative"},
		{[]string{"--coord", "h:1", "watch", "--in-doubt", "0s"}, "--in-doubt must be positive"},
		{[]string{"--coord", "h:1", "watch", "--bogus"}, "txcli watch --help"},
		{[]string{"--coord", "nohost", "watch"}, "--coord: address"},
	} {
		r := txcli(t, noDial(t), tt.args...)
		if r.code != exitError {
			t.Errorf("%v: exit %d, want %d", tt.args, r.code, exitError)
		}
		oneErrLine(t, r, tt.want)
	}
}

// watch --json --count N against a fake coordinator whose status moves:
// N refreshes, every line a JSON object, the moves reported, exit 0.
func TestWatchJSONAgainstFake(t *testing.T) {
	clearEnv(t)
	var mu sync.Mutex
	polls := 0
	states := []wire.State{wire.StateInit, "", wire.StateReady, wire.StateCommitted} // the second poll fails
	coord := &fakeNode{hello: coordHello(), status: func(ctx context.Context) (*wire.Status, error) {
		mu.Lock()
		defer mu.Unlock()
		s := states[min(polls, len(states)-1)]
		polls++
		if polls == 2 {
			return nil, transport.ErrConnectionLost
		}
		st := coordStatus(1, 0, 0, tx("T1", s, s, s))
		st.Participants = nil
		return st, nil
	}}
	fc := &fakeCluster{nodes: map[string]*fakeNode{"h:1": coord}}
	r := txcli(t, fc.dial, "--coord", "h:1", "--json", "watch", "--count", "4", "--interval", "10ms")
	if r.code != exitOK || r.errOut != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var e struct{ Event, ID, State, Outcome string }
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if e.Event != evStats { // when they come depends on the clock
			got = append(got, strings.TrimSpace(e.Event+" "+e.State+" "+e.Outcome))
		}
	}
	want := "coordinator|tx INIT|coordinator|coordinator|tx READY|tx COMMITTED|outcome  COMMITTED"
	if polls != 4 {
		t.Errorf("%d polls, want 4", polls)
	}
	if strings.Join(got, "|") != want {
		t.Errorf("events %q\nwant %q\n%s", strings.Join(got, "|"), want, r.out)
	}
}

// --coord naming a participant is a usage error, not an outage.
func TestWatchParticipantAddress(t *testing.T) {
	clearEnv(t)
	part := &fakeNode{hello: wire.HelloAck{Version: wire.Version, NodeID: "B", Role: wire.RoleParticipant},
		status: func(ctx context.Context) (*wire.Status, error) {
			return &wire.Status{NodeID: "B", Role: wire.RoleParticipant}, nil
		}}
	fc := &fakeCluster{nodes: map[string]*fakeNode{"h:1": part}}
	r := txcli(t, fc.dial, "--coord", "h:1", "watch", "--count", "3")
	if r.code != exitError {
		t.Errorf("exit %d, want %d", r.code, exitError)
	}
	oneErrLine(t, r, "that is participant B, not a coordinator")
}

// A watch started late flags at once a decision that has long been
// waiting for an acknowledgement, by the coordinator's clock.
func TestWatchModelOldUnackedDecision(t *testing.T) {
	m := newWatchModel("h:0", time.Second)
	x := tx("T1", wire.StateCommitted, wire.StateCommitted, wire.StateReady)
	x.Started, x.Decided = 1000, 2000
	st := coordStatus(1, 1, 0, x)
	st.Now = 2000 + int64(5*time.Second)
	evs := m.apply(watchPoll{at: at(0), coord: st})
	wantLines(t, "first look", evs,
		"03:04:05.000 coordinator COORD up at h:0",
		"03:04:05.000 participant B connected to the coordinator",
		"03:04:05.000 participant C not connected to the coordinator",
		"03:04:05.000 tx T1 2PC COMMITTED B=COMMITTED C=READY", // still moving: not history
		"03:04:05.000 outcome T1 2PC COMMITTED in 1µs",
		"03:04:05.000 in-doubt T1: C READY for 5s (coordinator decided COMMITTED, not acknowledged)",
		"03:04:05.000 stats last 0s: 0.0 committed/s, 0.0 aborted/s, p50 1µs p99 1µs; 1 in flight, 1 in doubt")
}

// The terminal UI's model: q and Ctrl-C quit, a refresh is applied and
// the next one scheduled, --count ends it, and no poll starts once the
// program is over.
func TestWatchTUIModel(t *testing.T) {
	quits := func(cmd tea.Cmd) bool {
		if cmd == nil {
			return false
		}
		_, ok := cmd().(tea.QuitMsg)
		return ok
	}
	newTUI := func(count int) *tuiModel {
		wc := watchConfig{interval: time.Millisecond, count: count}
		p := &poller{dial: func(context.Context, string) (client, error) { return nil, errors.New("refused") },
			addr: "h:1", timeout: time.Second, now: time.Now}
		return &tuiModel{ctx: context.Background(), wc: wc, p: p, m: newWatchModel("h:1", time.Second)}
	}
	tm := newTUI(0)
	for _, k := range []tea.KeyPressMsg{{Code: 'q', Text: "q"}, {Code: 'c', Mod: tea.ModCtrl}, {Code: tea.KeyEscape}} {
		if _, cmd := tm.Update(k); !quits(cmd) {
			t.Errorf("%v does not quit", k)
		}
	}
	for _, k := range []tea.Msg{tea.KeyPressMsg{Code: 'x', Text: "x"}, tea.KeyReleaseMsg{Code: 'q', Text: "q"}} {
		if _, cmd := tm.Update(k); cmd != nil {
			t.Errorf("%v does something", k)
		}
	}
	msg := tm.Init()()
	done, ok := msg.(pollDone)
	if !ok || done.err == nil {
		t.Fatalf("Init's poll gave %#v", msg)
	}
	if _, cmd := tm.Update(done); cmd == nil || quits(cmd) || tm.m.polls != 1 {
		t.Errorf("a refresh is not applied and followed by the next (polls %d)", tm.m.polls)
	}
	if v := tm.View(); !v.AltScreen || !strings.Contains(v.Content, "COORDINATOR UNREACHABLE") {
		t.Errorf("view (alternate screen %v):\n%s", v.AltScreen, v.Content)
	}

	tm = newTUI(1)
	if _, cmd := tm.Update(done); !quits(cmd) {
		t.Errorf("--count 1 does not quit after a refresh")
	}
	tm.closed = true
	if msg := tm.poll()(); msg != nil {
		t.Errorf("a poll ran after the end: %#v", msg)
	}
}
