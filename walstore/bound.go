package walstore

import (
	"fmt"
	"time"
)

// boundKeeper is the goroutine that records the log's durable end in the
// control file, at most once per Options.BoundInterval, so that the
// commit path (Write, Sync) never waits for the control file.
type boundKeeper struct {
	kick chan struct{} // a Sync moved the durable end (buffered 1)
	quit chan struct{}
	done chan struct{}
}

func (l *Log) startKeeper() {
	if l.opts.BoundInterval < 0 {
		return
	}
	k := &boundKeeper{kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	l.keeper = k
	go l.keepBound(k, l.opts.BoundInterval)
}

func (k *boundKeeper) stop() {
	close(k.quit)
	<-k.done
}

// keepBound waits for a kick, holds off until interval has passed since
// its last write, then records the end as of the latest Sync.
func (l *Log) keepBound(k *boundKeeper, interval time.Duration) {
	defer close(k.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var last time.Time
	for {
		select {
		case <-k.kick:
		case <-k.quit:
			return
		}
		if wait := time.Until(last.Add(interval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-k.quit:
				timer.Stop()
				return
			}
		}
		if err := l.recordBound(); err != nil {
			// The log is intact; only the guard against truncation
			// lags. The next kick tries again.
			l.opts.Logger.Warn("walstore: could not record the durable end of the log", "file", l.path, "err", err)
		}
		last = time.Now()
	}
}

// noteDurable is called after a successful Sync: everything up to l.end
// is on disk.
func (l *Log) noteDurable() {
	l.durMu.Lock()
	l.durGen, l.durEnd = l.gen, l.end
	l.durMu.Unlock()
	if l.keeper != nil {
		select {
		case l.keeper.kick <- struct{}{}:
		default:
		}
	}
}

// recordBound writes the durable end into the control file if it moved.
func (l *Log) recordBound() error {
	l.ctlMu.Lock()
	defer l.ctlMu.Unlock()
	return l.recordBoundLocked()
}

func (l *Log) recordBoundLocked() error {
	l.durMu.Lock()
	gen, end := l.durGen, l.durEnd
	l.durMu.Unlock()
	c := l.ctl
	var next Control
	switch {
	case c.NextGen != 0 && gen == c.NextGen:
		// A Rewrite's file is durably in place: drop the old generation.
		next = Control{Gen: gen, Bound: end}
	case gen == c.Gen && end > c.Bound:
		// Keep a pending next generation: until the Rewrite says its
		// rename is durable, either file may be the log after a crash.
		next = c
		next.Bound = end
	default:
		return nil
	}
	if err := writeControl(l.path, next, l.opts.NoSync); err != nil {
		return err
	}
	l.ctl = next
	return nil
}

// checkControl compares the replayed log (generation l.gen, valid records
// ending at end) with its control file c (have: it exists), and returns
// what the control file should hold from now on and whether it must be
// written. endsAt reports whether a record ends at an offset (0 counts).
func (l *Log) checkControl(c Control, have bool, end int64, endsAt func(int64) bool, created bool) (Control, bool, error) {
	if !have {
		if end > 0 {
			l.opts.Logger.Warn("walstore: no control file beside the write-ahead log; creating one (first start after an upgrade, or it was removed)",
				"file", l.path, "control", ControlPath(l.path))
		}
		return Control{Gen: l.gen}, true, nil
	}
	bound, next := c.Bound, c
	switch {
	case l.gen == 0 && end == 0 && c.Bound == 0 && c.NextGen == 0:
		// A new log whose header never reached the disk: nothing was
		// ever promised durable. Open writes the header again.
		return c, false, nil
	case l.gen == c.Gen:
		next.NextGen, next.NextBound = 0, 0 // a Rewrite that never got to its rename
	case c.NextGen != 0 && l.gen == c.NextGen:
		bound, next = c.NextBound, Control{Gen: c.NextGen, Bound: c.NextBound}
	case l.gen == 0 && end == 0:
		// No header and no records: the file was cut to nothing, or
		// deleted and created anew.
		bound = max(c.Bound, c.NextBound)
	default:
		return c, false, fmt.Errorf("%w: file %s has generation %s, but the control file %s describes %s; "+
			"the log was replaced by another file. Restore the right log; removing the control file accepts this one",
			ErrLogMismatch, l.path, genString(l.gen), ControlPath(l.path), c.describe())
	}
	if end < bound {
		what := fmt.Sprintf("its records end at offset %d", end)
		if created {
			what = "it is missing (Open found no file)"
		}
		return c, false, fmt.Errorf("%w: file %s: %s, but the control file %s records that offset %d of %s was durable; "+
			"synced records are missing. Restore the log from a backup; removing the control file accepts the loss",
			ErrTruncated, l.path, what, ControlPath(l.path), bound, c.describe())
	}
	if !endsAt(bound) {
		return c, false, fmt.Errorf("%w: file %s: no record ends at offset %d, which the control file %s records as the durable end of %s; "+
			"the log was replaced by another file. Restore the right log; removing the control file accepts this one",
			ErrLogMismatch, l.path, bound, ControlPath(l.path), c.describe())
	}
	return next, next != c, nil
}

// describe names the generation(s) a control file vouches for.
func (c Control) describe() string {
	s := "generation " + genString(c.Gen)
	if c.NextGen != 0 {
		s += " or " + genString(c.NextGen) + " (a rewrite was under way)"
	}
	return s
}

func genString(g uint64) string {
	if g == 0 {
		return "0 (no header)"
	}
	return fmt.Sprintf("%016x", g)
}

// writeHeaderRecord gives an empty log its header record (not synced: the
// first Sync makes it durable, and until then the control file's bound is
// 0, which accepts a log that lost it).
func (l *Log) writeHeaderRecord(gen uint64) error {
	h := appendHeader(nil, gen)
	if int64(len(h)) > l.size {
		if err := l.grow(int64(len(h))); err != nil {
			return fmt.Errorf("walstore: grow file %s: %w", l.path, err)
		}
	}
	if _, err := l.f.WriteAt(h, 0); err != nil {
		return fmt.Errorf("walstore: write header of file %s: %w", l.path, err)
	}
	l.gen, l.end, l.unsynced = gen, int64(len(h)), true
	return nil
}
