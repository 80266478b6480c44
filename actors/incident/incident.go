// Package incident logs the states of a node that an operator must act
// on (a member unreachable, a transaction in doubt too long, a slow disk):
// once when one starts and once when it ends, with how long it lasted, and
// nothing while it lasts. Per-transaction chatter stays at debug level;
// these lines are what an operator reads during an incident.
//
// Starts are rate-limited per kind: past Burst starts of one kind in a
// Window, further ones (and their ends) are counted instead of logged, and
// the count is logged once that window is over. One-off events (a
// termination decision, heuristic damage) share the same limit.
package incident

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults for Log's rate limit.
const (
	DefaultWindow = time.Minute
	DefaultBurst  = 10
)

// Log logs incidents. It is safe for concurrent use.
type Log struct {
	logger *slog.Logger
	window time.Duration
	burst  int
	now    func() time.Time

	mu    sync.Mutex       // guards what follows
	open  map[string]*open // by key
	kinds map[string]*rate // by kind
}

type open struct {
	kind   string
	since  time.Time
	logged bool // its start was logged, so its end is too
}

// rate counts one kind's starts in the current window.
type rate struct {
	start  time.Time
	logged int
	quiet  int // starts not logged in this window
}

// New makes a Log writing to logger with the default rate limit.
func New(logger *slog.Logger) *Log {
	return NewLimited(logger, DefaultWindow, DefaultBurst, time.Now)
}

// NewLimited makes a Log with its own rate limit and clock (tests).
func NewLimited(logger *slog.Logger, window time.Duration, burst int, now func() time.Time) *Log {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{logger: logger, window: window, burst: burst, now: now,
		open: map[string]*open{}, kinds: map[string]*rate{}}
}

// Begin opens incident key of the given kind (the start line's message)
// and logs it at level, unless it is open already or its kind is over the
// rate limit. It reports whether the incident was newly opened.
func (l *Log) Begin(key string, level slog.Level, kind string, attrs ...any) bool {
	l.mu.Lock()
	if l.open[key] != nil {
		l.mu.Unlock()
		return false
	}
	now := l.now()
	logged := l.allow(kind, now)
	l.open[key] = &open{kind: kind, since: now, logged: logged}
	l.mu.Unlock()
	if logged {
		l.logger.Log(context.Background(), level, kind, attrs...)
	}
	return true
}

// End closes incident key, logging msg at info level with how long it
// lasted ("lasted") if its start was logged. It returns how long the
// incident lasted, and false if none was open.
func (l *Log) End(key, msg string, attrs ...any) (time.Duration, bool) {
	l.mu.Lock()
	o := l.open[key]
	if o == nil {
		l.mu.Unlock()
		return 0, false
	}
	delete(l.open, key)
	lasted := l.now().Sub(o.since).Round(time.Millisecond)
	l.mu.Unlock()
	if o.logged {
		l.logger.Info(msg, append(attrs, "lasted", lasted)...)
	}
	return lasted, true
}

// Open reports whether incident key is open.
func (l *Log) Open(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[key] != nil
}

// Event logs a one-off line of the given kind at level, within the kind's
// rate limit; it reports whether it was logged.
func (l *Log) Event(level slog.Level, kind string, attrs ...any) bool {
	l.mu.Lock()
	logged := l.allow(kind, l.now())
	l.mu.Unlock()
	if logged {
		l.logger.Log(context.Background(), level, kind, attrs...)
	}
	return logged
}

// allow counts a start of kind at now and says whether to log it; a window
// that is over and held unlogged starts is summed up first. Called with
// mu held.
func (l *Log) allow(kind string, now time.Time) bool {
	r := l.kinds[kind]
	if r == nil {
		r = &rate{start: now}
		l.kinds[kind] = r
	}
	if now.Sub(r.start) >= l.window {
		if r.quiet > 0 {
			l.logger.Warn("incidents not logged (rate limit)", "kind", kind, "count", r.quiet, "window", l.window)
		}
		*r = rate{start: now}
	}
	if r.logged >= l.burst {
		r.quiet++
		return false
	}
	r.logged++
	return true
}
