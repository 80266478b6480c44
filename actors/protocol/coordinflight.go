package protocol

import "sync/atomic"

// Inflight bounds the transactions running in several Coordinators of one
// host together: --max-inflight is a node's bound, while the host spreads
// ids over Coordinators by hash. Coordinators of one host share one; a
// Coordinator given none has its own.
type Inflight struct {
	max     int64
	running atomic.Int64
}

// NewInflight bounds running transactions at max.
func NewInflight(max int) *Inflight { return &Inflight{max: int64(max)} }

// admit counts one more running transaction unless the bound is reached.
func (f *Inflight) admit() bool {
	if f.running.Add(1) > f.max {
		f.running.Add(-1)
		return false
	}
	return true
}

// add counts one more running transaction whatever the bound: one
// recovered from the log runs anyway.
func (f *Inflight) add() { f.running.Add(1) }

// done counts one running transaction less.
func (f *Inflight) done() { f.running.Add(-1) }

// Running is how many transactions run in every Coordinator sharing f.
// Safe from any goroutine.
func (f *Inflight) Running() int { return int(f.running.Load()) }
