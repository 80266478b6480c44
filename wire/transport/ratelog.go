package transport

import (
	"sync"
	"time"
)

// rateLog writes a warning at most once a second, with how many it held
// back: a flood of connections would otherwise write a line each.
type rateLog struct {
	mu     sync.Mutex
	last   time.Time
	muted  int
	logged bool
}

func (r *rateLog) warn(log interface {
	Warn(msg string, args ...any)
}, msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if r.logged && now.Sub(r.last) < time.Second {
		r.muted++
		r.mu.Unlock()
		return
	}
	r.last, r.logged = now, true
	n := r.muted
	r.muted = 0
	r.mu.Unlock()
	log.Warn(msg, append(args, "not_logged_since", n)...)
}
