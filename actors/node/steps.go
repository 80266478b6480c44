package node

import (
	"log/slog"
	"time"
)

// Steps times the steps of a node's shutdown and logs each at debug level,
// so that a slow stop shows which step took the time.
type Steps struct {
	logger *slog.Logger
	last   time.Time
}

// NewSteps starts timing.
func NewSteps(logger *slog.Logger) *Steps { return &Steps{logger: logger, last: time.Now()} }

// Done logs that step finished, with how long it took since the previous
// one.
func (s *Steps) Done(step string) {
	now := time.Now()
	s.logger.Debug("shutdown step", "step", step, "took", now.Sub(s.last))
	s.last = now
}
