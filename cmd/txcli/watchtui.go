package main

import (
	"context"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
)

// The terminal UI: a bubbletea program around the watch model. Polls run
// as commands (off the UI loop), one at a time; the model changes only in
// Update, and View draws it with renderScreen.

type pollDone watchPoll

type pollDue struct{}

type tuiModel struct {
	ctx           context.Context
	wc            watchConfig
	p             *poller
	m             *watchModel
	width, height int
	polls         int
	mu            sync.Mutex     // protects following
	closed        bool           // the program is over: start no poll
	running       sync.WaitGroup // polls under way: the poller is not closed under them
	fail          error          // why it stopped, if not by request
}

func (t *tuiModel) Init() tea.Cmd { return t.poll() }

// poll runs one refresh; peers is copied here, on the UI loop.
func (t *tuiModel) poll() tea.Cmd {
	peers := t.m.peerList()
	return func() tea.Msg {
		// Counted here, not when the command is made: the program may
		// end without ever running it.
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return nil
		}
		t.running.Add(1)
		t.mu.Unlock()
		defer t.running.Done()
		return pollDone(t.p.poll(t.ctx, peers))
	}
}

func (t *tuiModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch msg.String() {
		case "q", "Q", "ctrl+c", "esc":
			return t, tea.Quit
		}
	case tea.WindowSizeMsg:
		t.width, t.height = msg.Width, msg.Height
	case pollDone:
		if t.ctx.Err() != nil {
			return t, tea.Quit
		}
		if t.fail = t.p.wrongNode(msg.err); t.fail != nil {
			return t, tea.Quit
		}
		t.m.apply(watchPoll(msg))
		t.polls++
		if t.wc.count > 0 && t.polls >= t.wc.count {
			return t, tea.Quit
		}
		return t, tea.Tick(t.wc.interval, func(time.Time) tea.Msg { return pollDue{} })
	case pollDue:
		return t, t.poll()
	}
	return t, nil
}

// View is the screen on the alternate screen (bubbletea v2 sets terminal
// modes from the view, not from program options).
func (t *tuiModel) View() tea.View {
	v := tea.NewView(renderScreen(t.m, t.width, t.height, t.wc.interval))
	v.AltScreen = true
	return v
}

// runWatchTUI runs the full-screen view until q, Ctrl-C, ctx's end (a
// signal, --duration) or --count. The alternate screen and raw mode are
// undone on the way out.
func runWatchTUI(ctx context.Context, wc watchConfig, p *poller, m *watchModel, s streams) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := &tuiModel{ctx: ctx, wc: wc, p: p, m: m}
	prog := tea.NewProgram(t, tea.WithOutput(s.out), tea.WithoutSignalHandler())
	stop := context.AfterFunc(ctx, prog.Quit)
	defer stop()
	_, err := prog.Run()
	cancel() // cuts a poll still under way short
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.running.Wait()
	if err != nil {
		return failf("terminal: %v", err)
	}
	return t.fail
}
